//! The feature-module system: each module (the platform's own security
//! modules and every product feature) declares what it brings, and the
//! registry checks the declarations fit together before anything starts.
//!
//! Adding a module is a folder per layer — `core/src/<name>` (domain and use
//! cases), `application/src/<name>.rs` (this manifest), the adapters it needs
//! (`adapters/http/src/<name>`, `adapters/memory|postgres/src/<table>.rs`),
//! `migrations/sql/NNNN_<name>.sql` — and one entry in bootstrap's feature
//! list. Blog is the worked example.

use std::collections::BTreeSet;

use platform_ports::authz::Permission;

/// What a feature module declares.
#[derive(Clone, Copy, Debug)]
pub struct FeatureModule {
    /// Unique name; also the first segment of its permissions (`blog`).
    pub name: &'static str,
    /// Permissions it declares (shown by `GET /api/v1/permissions`, granted to `admin`).
    pub permissions: &'static [Permission],
    /// The outbox topic its events go to.
    pub topic: Option<&'static str>,
    /// Event types it publishes.
    pub publishes: &'static [&'static str],
    /// Event types it consumes (subscribed at start-up by its wiring).
    pub handles: &'static [&'static str],
    /// Job task types it handles.
    pub jobs: &'static [&'static str],
    /// Its migration files under `migrations/sql`.
    pub migrations: &'static [&'static str],
    /// Route prefixes it serves (for the start-up log and the docs).
    pub routes: &'static [&'static str],
}

/// Why a set of modules does not fit together.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegistryError {
    /// Two modules share a name.
    #[error("feature module `{0}` is registered twice")]
    DuplicateModule(&'static str),
    /// Two modules declare the same permission.
    #[error("permission `{permission}` is declared by both `{first}` and `{second}`")]
    DuplicatePermission {
        /// The permission.
        permission: String,
        /// The first module.
        first: &'static str,
        /// The second module.
        second: &'static str,
    },
}

/// The modules of this build, checked.
#[derive(Clone, Debug, Default)]
pub struct FeatureRegistry {
    modules: Vec<FeatureModule>,
}

impl FeatureRegistry {
    /// Checks and keeps `modules`.
    ///
    /// # Errors
    /// [`RegistryError`] for a duplicate module name or permission.
    pub fn new(modules: impl IntoIterator<Item = FeatureModule>) -> Result<Self, RegistryError> {
        let mut registry = Self::default();
        let mut owners: Vec<(&Permission, &'static str)> = Vec::new();
        for module in modules {
            if registry.modules.iter().any(|m| m.name == module.name) {
                return Err(RegistryError::DuplicateModule(module.name));
            }
            registry.modules.push(module);
        }
        for module in &registry.modules {
            for permission in module.permissions {
                if let Some((_, first)) = owners.iter().find(|(p, _)| *p == permission) {
                    return Err(RegistryError::DuplicatePermission {
                        permission: permission.to_string(),
                        first,
                        second: module.name,
                    });
                }
                owners.push((permission, module.name));
            }
        }
        Ok(registry)
    }

    /// The modules, in registration order.
    #[must_use]
    pub fn modules(&self) -> &[FeatureModule] {
        &self.modules
    }

    /// Every declared permission, sorted.
    #[must_use]
    pub fn permissions(&self) -> Vec<Permission> {
        let set: BTreeSet<Permission> = self
            .modules
            .iter()
            .flat_map(|m| m.permissions.iter().cloned())
            .collect();
        set.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Permission = Permission::declare("a.thing.read");
    const B: Permission = Permission::declare("b.thing.read");
    const ONLY_A: &[Permission] = &[A];
    const ONLY_B: &[Permission] = &[B];

    fn module(name: &'static str, permissions: &'static [Permission]) -> FeatureModule {
        FeatureModule {
            name,
            permissions,
            topic: None,
            publishes: &[],
            handles: &[],
            jobs: &[],
            migrations: &[],
            routes: &[],
        }
    }

    #[test]
    fn collects_permissions_sorted() {
        let r = FeatureRegistry::new([module("b", ONLY_B), module("a", ONLY_A)]).unwrap();
        assert_eq!(r.permissions(), vec![A, B]);
        assert_eq!(r.modules().len(), 2);
    }

    #[test]
    fn refuses_duplicates() {
        assert_eq!(
            FeatureRegistry::new([module("a", ONLY_A), module("a", &[])]).unwrap_err(),
            RegistryError::DuplicateModule("a")
        );
        assert!(matches!(
            FeatureRegistry::new([module("a", ONLY_A), module("b", ONLY_A)]),
            Err(RegistryError::DuplicatePermission { .. })
        ));
    }
}
