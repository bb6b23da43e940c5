//! The identity module's permissions, declared once: the HTTP routes guard
//! with them, the admin role is granted them, `GET /api/v1/permissions`
//! lists them.

crate::declare_permissions! {
    /// List and read users.
    USER_READ = "identity.user.read",
    /// Update other users' profiles.
    USER_UPDATE = "identity.user.update",
    /// Delete users.
    USER_DELETE = "identity.user.delete",
    /// List and read roles.
    ROLE_READ = "identity.role.read",
    /// Create roles.
    ROLE_CREATE = "identity.role.create",
    /// Rename roles and change their permissions.
    ROLE_UPDATE = "identity.role.update",
    /// Delete roles.
    ROLE_DELETE = "identity.role.delete",
    /// Assign roles to users and revoke them.
    ROLE_ASSIGN = "identity.role.assign",
    /// List the declared permissions.
    PERMISSION_READ = "identity.permission.read",
    /// Create, list and revoke the tenant's API keys.
    APIKEY_MANAGE = "identity.apikey.manage",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_belongs_to_identity() {
        assert_eq!(ALL.len(), 10);
        assert!(ALL.iter().all(|permission| permission.module() == "identity"));
    }
}
