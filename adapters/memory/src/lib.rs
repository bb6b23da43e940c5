//! In-memory adapters: repositories, unit of work and outbox over one shared
//! store, the TTL cache, the job queue and cron scheduler, and the
//! in-process event bus. The embedded default: no services needed.

mod store;

mod api_keys;
mod audit;
mod files;
mod outbox;
mod posts;
mod processed;
mod roles;
mod stats;
mod tokens;
mod users;
mod webhooks;

mod bus;
mod cache;
mod jobs;
mod scheduler;

pub use api_keys::MemoryApiKeyRepository;
pub use audit::MemoryAuditStore;
pub use bus::{InProcessBusSettings, InProcessEventBus, InProcessEventBusParameters};
pub use cache::MemoryCache;
pub use files::MemoryFileRepository;
pub use jobs::{MemoryJobQueue, MemoryJobQueueParameters, MemoryJobQueueSettings};
pub use outbox::MemoryOutbox;
pub use posts::MemoryPostRepository;
pub use processed::MemoryProcessedEvents;
pub use roles::MemoryRoleRepository;
pub use scheduler::MemoryScheduler;
pub use stats::MemoryAuthorStats;
pub use store::{MemoryStore, MemoryTx, MemoryUnitOfWork};
pub use tokens::{MemoryRefreshTokenStore, MemoryVerificationTokenStore};
pub use users::MemoryUserRepository;
pub use webhooks::MemoryWebhookRepository;
