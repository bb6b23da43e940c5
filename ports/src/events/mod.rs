//! Events: the envelope, the `EventBus` (the seed's event bus) and the
//! transactional `Outbox` the relay drains, and the `ProcessedEvents` record
//! that makes a consumer's effect happen once.

mod bus;
mod event;
mod outbox;
mod processed;
mod support;

pub use bus::*;
pub use event::*;
pub use outbox::*;
pub use processed::*;
pub use support::*;
