//! The hexagon's edge: the shared model, typed errors and one trait per port.
//!
//! Driven ports (what the domain needs from the world) and driving ports (what
//! the outside may ask of the platform) live here. This crate names no I/O
//! technology: adapters implement these traits, `core` and `application` are
//! written against them, and `bootstrap` wires them with shaku.
//!
//! Every trait resolved through the container has `shaku::Interface` as a
//! supertrait and, with the `mocks` feature, a mockall `Mock*` twin.

pub mod model;

pub mod blob;
pub mod cache;
pub mod clock;
pub mod crypto;
pub mod driving;
pub mod error;
pub mod errors;
pub mod events;
pub mod health;
pub mod jobs;
pub mod lifecycle;
pub mod metrics;
pub mod notify;
pub mod repos;
pub mod secrets;

#[cfg(any(test, feature = "mocks"))]
pub mod testing;

pub use error::{BoxError, StoreError};
pub use model::*;
