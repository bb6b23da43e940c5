//! The audit module's permissions.

crate::declare_permissions! {
    /// Read the audit log.
    LOG_READ = "audit.log.read",
}

/// The tamper-evident chain's permissions, declared by the `audit` module's
/// manifest (and so granted to the admin role, which holds the catalogue).
pub mod chain {
    crate::declare_permissions! {
        /// Verify the tenant's audit chain.
        LOG_VERIFY = "audit.log.verify",
    }
}
