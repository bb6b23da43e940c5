//! Identity: users, their credentials and profiles, roles and the
//! permissions roles grant.
//!
//! Every change runs in one unit of work that writes the rows, the audit
//! entry and the outbox events together; mail goes out only after commit.

mod failures;
mod lockout;
mod names;
mod policy;
mod record;
mod roles;
mod settings;
mod users;

#[cfg(test)]
mod tests;

pub use lockout::{KEEPER, LAST_ADMIN};
pub use names::{ADMIN_ROLE, EVENT_SOURCE, actions, events};
pub use policy::{DESCRIPTION_MAX, DISPLAY_NAME_MAX, ROLE_NAME_MAX};
pub use roles::{RoleManager, RoleManagerParameters};
pub use settings::{IdentitySettings, PermissionCatalog};
pub use users::{UserManager, UserManagerParameters};
