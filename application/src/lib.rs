//! Use cases as the outside sees them: the outbox relay that carries
//! committed events to the bus, and (with the feature-module issue) the
//! feature-module registry.

pub mod maintenance;
pub mod relay;

pub use maintenance::ExpiredTokenCleanup;
pub use relay::{OutboxRelay, RelaySettings};
