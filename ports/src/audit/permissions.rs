//! The audit module's permissions.

crate::declare_permissions! {
    /// Read the audit log.
    LOG_READ = "audit.log.read",
}
