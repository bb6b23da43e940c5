//! Authorization: permissions and the `PermissionResolver` / `Authorizer`.

mod permission;
mod service;

pub use permission::*;
pub use service::*;
