//! PostgreSQL adapters (sqlx, runtime queries only): every repository, the
//! unit of work, the outbox, the processed-events record, the embedded
//! migrations and a health checker, all sharing one [`PgDatabase`] pool.
//!
//! Every tenant-scoped query filters by the caller's tenant (token and outbox
//! lookups take no tenant: their ports address rows by hash or id), and runs
//! in a transaction whose row-level-security scope is that tenant, or a
//! named bypass for the lookups that cross tenants (see `scope`), so a query
//! that forgets its filter still sees one tenant's rows; every
//! statement runs in a `db.query` span and is timed into the
//! `db.client.operation.duration` histogram (seconds, labelled
//! `db.operation.name` and `db.system`).
//!
//! Wiring: build the pool first (`PgDatabase::connect`, then `migrate` when
//! configured), then hand clones of it to each adapter's plain constructor,
//! e.g. `with_component_override::<dyn UserRepository>(Box::new(PgUserRepository::new(db.clone())))`.

mod cursor;
mod database;
mod error;
mod files;
mod scope;
mod settings;
mod stats;
mod telemetry;
mod uow;

mod api_keys;
// `audit_columns!` is shared with the chain's statements.
#[macro_use]
mod audit;
mod audit_chain;
mod health;
mod outbox;
mod posts;
mod processed;
mod roles;
mod tokens;
mod users;
mod webhooks;

pub use api_keys::PgApiKeyRepository;
pub use audit::PgAuditStore;
pub use database::{MigrationState, MigrationStatus, PgDatabase, PgError};
pub use files::PgFileRepository;
pub use health::PgHealthChecker;
pub use outbox::PgOutbox;
pub use posts::PgPostRepository;
pub use processed::PgProcessedEvents;
pub use roles::PgRoleRepository;
pub use settings::{APP_ROLE, PgSettings};
pub use stats::PgAuthorStats;
pub use tokens::{PgRefreshTokenStore, PgVerificationTokenStore};
pub use uow::{PgTx, PgUnitOfWork};
pub use users::PgUserRepository;
pub use webhooks::PgWebhookRepository;
