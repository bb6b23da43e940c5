//! The hexagon's edge: the shared model, typed errors and one trait per port.
//!
//! One module per seed module, holding its model, its driven ports (what the
//! domain needs from the world) and its driving ports (what the outside may
//! ask of the platform): `identity::UserRepository` and
//! `identity::UserService` sit side by side. `model` keeps only what every
//! module shares (ids, the request context, pagination, validation errors,
//! secrets). This crate names no I/O technology: adapters implement these
//! traits, `core` and `application` are written against them, and
//! `bootstrap` wires them with shaku.
//!
//! Every trait resolved through the container has `shaku::Interface` as a
//! supertrait and, with the `mocks` feature, a mockall `Mock*` twin.

pub mod model;

pub mod audit;
pub mod auth;
pub mod authz;
pub mod blob;
pub mod blog;
pub mod cache;
pub mod clock;
pub mod error;
pub mod error_bus;
pub mod events;
pub mod files;
pub mod health;
pub mod identity;
pub mod jobs;
pub mod lifecycle;
pub mod metrics;
pub mod notify;
pub mod persistence;
pub mod ratelimit;
pub mod secrets;
pub mod telemetry;
pub mod webhooks;

#[cfg(any(test, feature = "mocks"))]
pub mod testing;

pub use error::{BoxError, StoreError};
pub use model::*;
