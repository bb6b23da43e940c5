//! What the identity use cases are configured with.

use std::time::Duration;

use platform_ports::authz::Permission;

/// The identity policy: password rules, token lifetimes and the public
/// address mailed links point at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentitySettings {
    /// Shortest password accepted, in characters.
    pub password_min_length: usize,
    /// How long an email-verification token stays valid.
    pub email_verification_ttl: Duration,
    /// How long a password-reset token stays valid.
    pub password_reset_ttl: Duration,
    /// Base URL of the public site (`https://example.com`), for mailed links.
    pub public_url: String,
    /// Whether login refuses unverified accounts. The authenticator enforces
    /// it; it lives here so one value describes the identity policy.
    pub require_verified_email: bool,
}

impl IdentitySettings {
    /// Longest password accepted, in characters: argon2 takes any length, but
    /// a megabyte "password" is a denial-of-service attempt, not a secret.
    pub const PASSWORD_MAX_LENGTH: usize = 1024;
}

impl Default for IdentitySettings {
    fn default() -> Self {
        Self {
            password_min_length: 12,
            email_verification_ttl: Duration::from_secs(24 * 3600),
            password_reset_ttl: Duration::from_secs(3600),
            public_url: "http://localhost:8080".to_owned(),
            require_verified_email: false,
        }
    }
}

/// Every permission the platform and its feature modules declared: sorted,
/// without repeats. Roles may only grant what is in it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PermissionCatalog(Vec<Permission>);

impl PermissionCatalog {
    /// A catalog of `permissions` (sorted and deduplicated here).
    pub fn new(permissions: impl IntoIterator<Item = Permission>) -> Self {
        let mut all: Vec<Permission> = permissions.into_iter().collect();
        all.sort();
        all.dedup();
        Self(all)
    }

    /// The platform's own permissions ([`crate::permissions::ALL`]).
    #[must_use]
    pub fn platform() -> Self {
        Self::new(crate::permissions::ALL.iter().cloned())
    }

    /// This catalog plus a feature module's declared permissions.
    #[must_use]
    pub fn with(self, more: &[Permission]) -> Self {
        Self::new(self.0.into_iter().chain(more.iter().cloned()))
    }

    /// Whether `permission` was declared.
    #[must_use]
    pub fn contains(&self, permission: &Permission) -> bool {
        self.0.binary_search(permission).is_ok()
    }

    /// Every declared permission, sorted.
    #[must_use]
    pub fn all(&self) -> &[Permission] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_sorted_and_unique() {
        let read = Permission::declare("blog.post.read");
        let catalog = PermissionCatalog::platform().with(&[read.clone(), read.clone()]);
        let all = catalog.all();
        assert!(all.windows(2).all(|w| w[0] < w[1]), "{all:?}");
        assert!(catalog.contains(&read));
        assert!(catalog.contains(&crate::permissions::AUDIT_READ));
        assert!(!catalog.contains(&Permission::declare("blog.post.delete")));
        assert_eq!(all.len(), crate::permissions::ALL.len() + 1);
    }
}
