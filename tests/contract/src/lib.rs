//! The contracts every adapter of a port must pass: persistence (every
//! repository, the unit of work, the outbox), the cache, the event bus and
//! the processed-events record (`events`); and a throwaway `redis-server`
//! for outage tests.
//!
//! Each check takes the ports it exercises as trait objects, so a PostgreSQL
//! adapter runs the same checks by building a [`Ports`] over its own pool.
//! Checks use fresh tenants, so they may share a database; the outbox checks
//! (the outbox is not tenant-scoped) expect an outbox nobody else drains.

#![allow(
    clippy::unwrap_used,
    reason = "checks are test code: a failed unwrap is a failed check"
)]

pub mod api_keys;
pub mod audit;
pub mod audit_chain;
pub mod blob;
pub mod cache;
pub mod digest;
pub mod events;
pub mod files;
pub mod fixtures;
pub mod jobs;
pub mod metrics;
pub mod outbox;
pub mod posts;
pub mod redis_server;
pub mod refresh_tokens;
pub mod roles;
pub mod text;
pub mod uow;
pub mod users;
pub mod verification_tokens;
pub mod webhooks;

use std::sync::Arc;

use platform_ports::audit::AuditStore;
use platform_ports::auth::{RefreshTokenStore, VerificationTokenStore};
use platform_ports::blog::PostRepository;
use platform_ports::events::Outbox;
use platform_ports::identity::{ApiKeyRepository, RoleRepository, UserRepository};
use platform_ports::persistence::UnitOfWork;

/// Every persistence port of one backend, sharing one database.
#[derive(Clone)]
pub struct Ports {
    /// Opens units of work.
    pub uow: Arc<dyn UnitOfWork>,
    /// Users.
    pub users: Arc<dyn UserRepository>,
    /// Roles and assignments.
    pub roles: Arc<dyn RoleRepository>,
    /// Refresh tokens.
    pub refresh: Arc<dyn RefreshTokenStore>,
    /// Verification tokens.
    pub verification: Arc<dyn VerificationTokenStore>,
    /// The audit log.
    pub audit: Arc<dyn AuditStore>,
    /// Blog posts.
    pub posts: Arc<dyn PostRepository>,
    /// The outbox.
    pub outbox: Arc<dyn Outbox>,
    /// API keys.
    pub api_keys: Arc<dyn ApiKeyRepository>,
}
