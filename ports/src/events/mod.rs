//! Events: the envelope, the `EventBus` (the seed's event bus) and the
//! transactional `Outbox` the relay drains.

mod bus;
mod event;
mod outbox;

pub use bus::*;
pub use event::*;
pub use outbox::*;
