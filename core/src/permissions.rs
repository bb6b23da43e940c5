//! The platform's own permissions: identity's and audit's, declared in
//! `platform_ports::{identity, audit}::permissions` (where the HTTP adapter
//! reads them too) and gathered here for the catalogue and the admin role.
//! Feature modules declare theirs with `platform_ports::declare_permissions!`.

pub use platform_ports::audit::permissions::LOG_READ as AUDIT_READ;
use platform_ports::authz::Permission;
pub use platform_ports::identity::permissions::{
    APIKEY_MANAGE, PERMISSION_READ, ROLE_ASSIGN, ROLE_CREATE, ROLE_DELETE, ROLE_READ, ROLE_UPDATE, USER_DELETE,
    USER_READ, USER_UPDATE,
};

/// Every permission of identity and audit (a slice cannot be concatenated in
/// a constant; the test below keeps this list equal to the two declarations).
pub const ALL: &[Permission] = &[
    USER_READ,
    USER_UPDATE,
    USER_DELETE,
    ROLE_READ,
    ROLE_CREATE,
    ROLE_UPDATE,
    ROLE_DELETE,
    ROLE_ASSIGN,
    PERMISSION_READ,
    APIKEY_MANAGE,
    AUDIT_READ,
];

#[cfg(test)]
mod tests {
    use platform_ports::{audit, identity};

    use super::ALL;

    #[test]
    fn all_is_exactly_identity_and_audit() {
        let declared: Vec<_> = identity::permissions::ALL
            .iter()
            .chain(audit::permissions::ALL)
            .collect();
        assert_eq!(ALL.iter().collect::<Vec<_>>(), declared);
    }
}
