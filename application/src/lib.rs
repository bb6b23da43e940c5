//! Use cases as the outside sees them: the outbox relay that carries
//! committed events to the bus, maintenance jobs, and the feature-module
//! registry with the platform's module manifests.

pub mod features;
pub mod idempotent;
pub mod maintenance;
pub mod modules;
pub mod relay;

pub use idempotent::{IdempotentHandler, TransactionalEventHandler};
pub use maintenance::ExpiredTokenCleanup;
pub use modules::{FeatureModule, FeatureRegistry, RegistryError};
pub use relay::{OutboxRelay, RelaySettings};
