//! The audit log: entries, the append-only `AuditStore` and the `Auditor`.

pub mod permissions;

mod entry;
mod service;
mod store;

pub use entry::*;
pub use service::*;
pub use store::*;
