//! The feature-module system: each module (the platform's own modules and
//! every product feature) declares what it brings, and the registry checks
//! the declarations fit together before anything starts.
//!
//! A manifest is generic over the container `M` it will be wired from: the
//! reactions it declares (event handlers, job handlers, cron jobs) are built
//! from `M` by plain functions whose trait bounds (`M: HasComponent<dyn Port>`)
//! say which ports they need. Bootstrap registers them with the bus, the job
//! queue and the scheduler at start-up, checks the migrations exist, and
//! mounts the module's routes at its `mount`.
//!
//! Adding a module is a folder per layer — `core/src/<name>` (domain and use
//! cases), `application/src/features.rs` (this manifest and its reactions),
//! the adapters it needs (`adapters/http/src/<name>`,
//! `adapters/memory|postgres/src/<table>.rs`), `migrations/sql/NNNN_<name>.sql`
//! — and one line in bootstrap's feature list. Blog is the worked example.

use std::collections::BTreeSet;
use std::sync::Arc;

use platform_ports::authz::Permission;
use platform_ports::events::EventHandler;
use platform_ports::jobs::{CronJob, JobHandler};

/// An event handler a module subscribes at start-up.
pub struct Subscription<M> {
    /// The topic it listens to.
    pub topic: &'static str,
    /// The subscriber (consumer group) name: instances sharing it share the work.
    pub subscriber: &'static str,
    /// Builds the handler from the container.
    pub handler: fn(&M) -> Arc<dyn EventHandler>,
}

/// A job handler a module registers at start-up.
pub struct JobRegistration<M> {
    /// The task type it handles (`notify:email`).
    pub task_type: &'static str,
    /// Builds the handler from the container.
    pub handler: fn(&M) -> Arc<dyn JobHandler>,
}

/// When a periodic job runs: a cron expression (six fields with seconds,
/// or five).
pub enum CronSpec<M> {
    /// Fixed in the manifest.
    Fixed(&'static str),
    /// Read from the container at start-up (a schedule the configuration
    /// sets); `None` leaves the job unscheduled (turned off).
    Configured(fn(&M) -> Option<String>),
}

impl<M> CronSpec<M> {
    /// The expression to schedule, `None` when the job is turned off.
    pub fn resolve(&self, module: &M) -> Option<String> {
        match self {
            Self::Fixed(spec) => Some((*spec).to_owned()),
            Self::Configured(read) => read(module),
        }
    }
}

/// A periodic job a module schedules at start-up.
pub struct CronRegistration<M> {
    /// Unique name of the schedule.
    pub name: &'static str,
    /// When it runs.
    pub spec: CronSpec<M>,
    /// Builds the job from the container.
    pub job: fn(&M) -> Arc<dyn CronJob>,
}

/// What a feature module declares.
pub struct FeatureModule<M> {
    /// Unique name (`blog`).
    pub name: &'static str,
    /// Permissions it declares (shown by `GET /api/v1/permissions`, granted to `admin`).
    pub permissions: &'static [Permission],
    /// The outbox topic its events go to.
    pub topic: Option<&'static str>,
    /// Event types it publishes.
    pub publishes: &'static [&'static str],
    /// Event handlers it subscribes.
    pub handles: Vec<Subscription<M>>,
    /// Job task types it handles.
    pub jobs: Vec<JobRegistration<M>>,
    /// Periodic jobs it runs.
    pub cron: Vec<CronRegistration<M>>,
    /// Its migration files under `migrations/sql` (`0004_blog.sql`).
    pub migrations: &'static [&'static str],
    /// Where its HTTP routes are mounted (`/api/v1/blog`); `None` without routes.
    pub mount: Option<&'static str>,
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
    /// Two modules handle the same task type (a job has one handler).
    #[error("task type `{task_type}` is handled by both `{first}` and `{second}`")]
    DuplicateJob {
        /// The task type.
        task_type: &'static str,
        /// The first module.
        first: &'static str,
        /// The second module.
        second: &'static str,
    },
    /// A declared migration is not in this build.
    #[error("feature module `{module}` declares migration `{file}`, which this build does not embed")]
    MissingMigration {
        /// The module.
        module: &'static str,
        /// The file.
        file: &'static str,
    },
}

/// The modules of this build, checked.
pub struct FeatureRegistry<M> {
    modules: Vec<FeatureModule<M>>,
}

impl<M> FeatureRegistry<M> {
    /// Checks and keeps `modules`.
    ///
    /// # Errors
    /// [`RegistryError`] for a duplicate module name, permission or task type.
    pub fn new(modules: impl IntoIterator<Item = FeatureModule<M>>) -> Result<Self, RegistryError> {
        let modules: Vec<FeatureModule<M>> = modules.into_iter().collect();
        for (i, module) in modules.iter().enumerate() {
            let earlier = &modules[..i];
            if earlier.iter().any(|m| m.name == module.name) {
                return Err(RegistryError::DuplicateModule(module.name));
            }
            for permission in module.permissions {
                if let Some(first) = earlier.iter().find(|m| m.permissions.contains(permission)) {
                    return Err(RegistryError::DuplicatePermission {
                        permission: permission.to_string(),
                        first: first.name,
                        second: module.name,
                    });
                }
            }
            for (j, job) in module.jobs.iter().enumerate() {
                let clash = earlier
                    .iter()
                    .find(|m| m.jobs.iter().any(|o| o.task_type == job.task_type))
                    .map(|m| m.name)
                    .or_else(|| {
                        module.jobs[..j]
                            .iter()
                            .any(|o| o.task_type == job.task_type)
                            .then_some(module.name)
                    });
                if let Some(first) = clash {
                    return Err(RegistryError::DuplicateJob {
                        task_type: job.task_type,
                        first,
                        second: module.name,
                    });
                }
            }
        }
        Ok(Self { modules })
    }

    /// The modules, in registration order.
    #[must_use]
    pub fn modules(&self) -> &[FeatureModule<M>] {
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

    /// Checks every declared migration is among `embedded` (file names as
    /// `NNNN_description.sql`).
    ///
    /// # Errors
    /// [`RegistryError::MissingMigration`] for the first one that is not.
    pub fn check_migrations(&self, embedded: &[String]) -> Result<(), RegistryError> {
        for module in &self.modules {
            if let Some(file) = module.migrations.iter().find(|f| !embedded.iter().any(|e| e == *f)) {
                return Err(RegistryError::MissingMigration {
                    module: module.name,
                    file,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use platform_ports::BoxError;

    use super::*;

    const A: Permission = Permission::declare("a.thing.read");
    const B: Permission = Permission::declare("b.thing.read");
    const ONLY_A: &[Permission] = &[A];
    const ONLY_B: &[Permission] = &[B];

    struct Nothing;

    #[async_trait::async_trait]
    impl JobHandler for Nothing {
        async fn handle(&self, _payload: &[u8]) -> Result<(), BoxError> {
            Ok(())
        }
    }

    fn module(name: &'static str, permissions: &'static [Permission]) -> FeatureModule<()> {
        FeatureModule {
            name,
            permissions,
            topic: None,
            publishes: &[],
            handles: Vec::new(),
            jobs: Vec::new(),
            cron: Vec::new(),
            migrations: &[],
            mount: None,
        }
    }

    fn with_job(name: &'static str, task_type: &'static str) -> FeatureModule<()> {
        FeatureModule {
            jobs: vec![JobRegistration {
                task_type,
                handler: |_| Arc::new(Nothing),
            }],
            ..module(name, &[])
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
            FeatureRegistry::new([module("a", ONLY_A), module("a", &[])]).err(),
            Some(RegistryError::DuplicateModule("a"))
        );
        assert!(matches!(
            FeatureRegistry::new([module("a", ONLY_A), module("b", ONLY_A)]),
            Err(RegistryError::DuplicatePermission { .. })
        ));
        assert_eq!(
            FeatureRegistry::new([with_job("a", "x:y"), with_job("b", "x:y")]).err(),
            Some(RegistryError::DuplicateJob {
                task_type: "x:y",
                first: "a",
                second: "b"
            })
        );
    }

    #[test]
    fn a_declared_migration_must_be_embedded() {
        let declares = FeatureModule {
            migrations: &["0001_a.sql", "0002_b.sql"],
            ..module("a", &[])
        };
        let registry = FeatureRegistry::new([declares]).unwrap();
        assert!(
            registry
                .check_migrations(&["0001_a.sql".into(), "0002_b.sql".into()])
                .is_ok()
        );
        assert_eq!(
            registry.check_migrations(&["0001_a.sql".into()]).err(),
            Some(RegistryError::MissingMigration {
                module: "a",
                file: "0002_b.sql"
            })
        );
    }
}
