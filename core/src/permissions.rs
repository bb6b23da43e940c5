//! The platform's own permissions, declared once. Feature modules declare
//! theirs the same way with `platform_ports::declare_permissions!`.

use platform_ports::declare_permissions;

declare_permissions! {
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
    /// Read the audit log.
    AUDIT_READ = "audit.log.read",
}
