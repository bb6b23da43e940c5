//! Driving ports: what the outside (HTTP, CLI, jobs) may ask of the platform.
//!
//! Each matches a seed interface; the HTTP adapter maps their errors to
//! problem+json.

mod audit;
mod auth;
mod authz;
mod blog;
mod identity;
mod ratelimit;

pub use audit::*;
pub use auth::*;
pub use authz::*;
pub use blog::*;
pub use identity::*;
pub use ratelimit::*;
