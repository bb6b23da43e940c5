//! Webhooks (a feature module): per-tenant subscriptions to the platform's
//! events, and the log of their deliveries.

pub mod permissions;

mod model;
mod repository;
mod service;

pub use model::*;
pub use repository::*;
pub use service::*;
