//! Identity (users, roles, passwords): the model, the repositories, the
//! password hasher and the `UserService` / `RoleService` driving ports.

pub mod permissions;

mod api_key;
mod password;
mod role;
mod role_repository;
mod service;
mod user;
mod user_repository;

pub use api_key::*;
pub use password::*;
pub use role::*;
pub use role_repository::*;
pub use service::*;
pub use user::*;
pub use user_repository::*;
