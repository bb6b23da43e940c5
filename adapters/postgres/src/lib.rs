//! PostgreSQL adapters (sqlx, runtime queries only): every repository, the
//! unit of work, the outbox, the embedded migrations and a health checker,
//! all sharing one [`PgDatabase`] pool.
//!
//! Every tenant-scoped query filters by the caller's tenant; every statement
//! runs in a `db.query` span and is timed into `db.client.operation.duration`.

mod cursor;
mod database;
mod error;
mod settings;
mod telemetry;
mod uow;

mod audit;
mod health;
mod outbox;
mod posts;
mod roles;
mod tokens;
mod users;

pub use audit::PgAuditStore;
pub use database::{MigrationState, MigrationStatus, PgDatabase, PgError};
pub use health::PgHealthChecker;
pub use outbox::PgOutbox;
pub use posts::PgPostRepository;
pub use roles::PgRoleRepository;
pub use settings::PgSettings;
pub use tokens::{PgRefreshTokenStore, PgVerificationTokenStore};
pub use uow::{PgTx, PgUnitOfWork};
pub use users::PgUserRepository;
