//! The audit log: entries, the append-only `AuditStore`, the `Auditor`,
//! and the tamper-evident chain over each tenant's entries.

pub mod permissions;

mod chain;
mod entry;
mod service;
mod store;

pub use chain::*;
pub use entry::*;
pub use service::*;
pub use store::*;
