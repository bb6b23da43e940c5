//! The platform's reactions and the wiring of its modules: the outbox relay
//! that carries committed events to the bus, event subscribers, job
//! handlers, cron jobs, and the feature-module manifests that declare them.

pub mod author_stats;
pub mod features;
pub mod idempotent;
pub mod maintenance;
pub mod modules;
pub mod reactions;
pub mod relay;

pub use author_stats::{AUTHOR_STATS_SUBSCRIBER, PublishedPostCounter};
pub use idempotent::{IdempotentHandler, TransactionalEventHandler};
pub use maintenance::{
    EventRetention, EventRetentionPolicy, ExpiredTokenCleanup, PurgeProcessedEvents, PurgeSentOutbox,
};
pub use modules::{
    CronRegistration, CronSpec, FeatureModule, FeatureRegistry, JobRegistration, RegistryError, Subscription,
};
pub use reactions::PermissionCacheInvalidation;
pub use relay::{OutboxRelay, RelaySettings};
