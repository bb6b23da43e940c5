//! The audit actions and event types identity records (the HTTP contract
//! names them; clients and consumers match on these strings).

/// Who emits identity events.
pub const EVENT_SOURCE: &str = "identity";

/// The role the bootstrap administrator holds.
pub const ADMIN_ROLE: &str = "admin";

/// Audit actions.
pub mod actions {
    /// A user was registered or created.
    pub const USER_CREATED: &str = "user.created";
    /// A profile changed.
    pub const USER_UPDATED: &str = "user.updated";
    /// A user was deleted.
    pub const USER_DELETED: &str = "user.deleted";
    /// A user proved ownership of their email.
    pub const USER_EMAIL_VERIFIED: &str = "user.email_verified";
    /// A user changed their password with the old one.
    pub const USER_PASSWORD_CHANGED: &str = "user.password_changed";
    /// A password was set with a mailed reset token.
    pub const USER_PASSWORD_RESET: &str = "user.password_reset";
    /// A role was created.
    pub const ROLE_CREATED: &str = "role.created";
    /// A role was renamed or re-described.
    pub const ROLE_UPDATED: &str = "role.updated";
    /// A role was deleted.
    pub const ROLE_DELETED: &str = "role.deleted";
    /// A role was assigned to a user.
    pub const ROLE_ASSIGNED: &str = "role.assigned";
    /// A role was taken from a user.
    pub const ROLE_REVOKED: &str = "role.revoked";
    /// Permissions were added to a role.
    pub const PERMISSION_GRANTED: &str = "permission.granted";
    /// Permissions were removed from a role.
    pub const PERMISSION_REVOKED: &str = "permission.revoked";
}

/// Event types published through the outbox on [`crate::support::IDENTITY_TOPIC`].
pub mod events {
    /// A user was created.
    pub const USER_CREATED: &str = "platform.user.created";
    /// A user changed (profile, verification, password).
    pub const USER_UPDATED: &str = "platform.user.updated";
    /// A user was deleted.
    pub const USER_DELETED: &str = "platform.user.deleted";
    /// A role was assigned to a user.
    pub const ROLE_ASSIGNED: &str = "platform.role.assigned";
    /// A role was taken from a user.
    pub const ROLE_REVOKED: &str = "platform.role.revoked";
    /// Permissions were added to a role.
    pub const PERMISSION_GRANTED: &str = "platform.permission.granted";
    /// An API key was revoked (`{"id", "tenant_id"}`).
    pub const API_KEY_REVOKED: &str = "platform.apikey.revoked";
}
