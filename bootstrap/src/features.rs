//! The feature modules of this build: one line each. A module's manifest
//! (in `application`) declares its permissions, reactions, migrations and
//! mount point; its routes come from the HTTP adapter, mounted where the
//! manifest says.

use std::sync::Arc;

use platform_adapter_http::{
    BlogDeps, FilesDeps, JobsDeps, ModuleRoutes, SecurityDeps, WebhookDeps, blog_routes, files_routes, jobs_routes,
    security_routes, webhook_routes,
};
use platform_application::features;
use platform_application::{FeatureModule, FeatureRegistry};
use platform_ports::events::EventBus;
use platform_ports::jobs::{JobQueue, Scheduler};
use shaku::HasComponent;

use crate::container::PlatformModule;

/// Builds a module's routes (and their documentation) under `mount`.
type Routes = fn(&PlatformModule, &str) -> ModuleRoutes;

/// Every module of this build, and the routes of those that serve HTTP.
fn modules() -> Vec<(FeatureModule<PlatformModule>, Option<Routes>)> {
    vec![
        (features::events(), None),
        (features::identity(), Some(identity_routes)),
        (features::audit(), None),
        (features::notify(), None),
        (features::jobs(), Some(jobs)),
        (features::files(), Some(files)),
        (features::blog(), Some(blog)),
        (features::webhooks(), Some(webhooks)),
    ]
}

fn identity_routes(m: &PlatformModule, mount: &str) -> ModuleRoutes {
    security_routes(
        SecurityDeps {
            authenticator: m.resolve(),
            users: m.resolve(),
            roles: m.resolve(),
            authorizer: m.resolve(),
            auditor: m.resolve(),
            tokens: m.resolve(),
            limiter: m.resolve(),
            api_keys: m.resolve(),
        },
        mount,
    )
}

fn jobs(m: &PlatformModule, mount: &str) -> ModuleRoutes {
    jobs_routes(
        JobsDeps {
            admin: m.resolve(),
            queue: m.resolve(),
            auditor: m.resolve(),
            authorizer: m.resolve(),
        },
        mount,
    )
}

fn files(m: &PlatformModule, mount: &str) -> ModuleRoutes {
    files_routes(
        FilesDeps {
            files: m.resolve(),
            verifier: m.resolve(),
            authorizer: m.resolve(),
        },
        mount,
    )
}

fn blog(m: &PlatformModule, mount: &str) -> ModuleRoutes {
    blog_routes(
        BlogDeps {
            blog: m.resolve(),
            authorizer: m.resolve(),
        },
        mount,
    )
}

fn webhooks(m: &PlatformModule, mount: &str) -> ModuleRoutes {
    webhook_routes(
        WebhookDeps {
            webhooks: m.resolve(),
            authorizer: m.resolve(),
        },
        mount,
    )
}

/// The checked registry (permissions, task types, embedded migrations).
///
/// # Errors
/// When two modules clash (name, permission, task type), a declared
/// migration is not embedded, or routes and mount points disagree.
pub fn registry() -> anyhow::Result<FeatureRegistry<PlatformModule>> {
    let modules = modules();
    for (module, routes) in &modules {
        if module.mount.is_some() != routes.is_some() {
            anyhow::bail!(
                "feature module `{}`: a mount point needs routes and routes need a mount point",
                module.name
            );
        }
    }
    let registry = FeatureRegistry::new(modules.into_iter().map(|(module, _)| module))
        .map_err(|e| anyhow::anyhow!("feature modules: {e}"))?;
    let embedded: Vec<String> = platform_migrations::migrator()
        .iter()
        .map(|m| format!("{:04}_{}.sql", m.version, m.description.replace(' ', "_")))
        .collect();
    registry
        .check_migrations(&embedded)
        .map_err(|e| anyhow::anyhow!("feature modules: {e}"))?;
    Ok(registry)
}

/// Every module's routes and their documentation, each mounted at its
/// manifest's mount point.
pub(crate) fn routes(module: &PlatformModule) -> ModuleRoutes {
    modules()
        .into_iter()
        .filter_map(|(manifest, routes)| Some((manifest.mount?, routes?)))
        .fold(ModuleRoutes::default(), |merged, (mount, routes)| {
            merged.merge(routes(module, mount))
        })
}

/// Registers every module's reactions: job handlers with the queue, cron
/// jobs with the scheduler, event handlers with the bus.
///
/// # Errors
/// When a registration is refused (a clash, a bad cron expression, a bus
/// that cannot subscribe); the message names the module.
pub(crate) async fn register_reactions(
    registry: &FeatureRegistry<PlatformModule>,
    module: &PlatformModule,
) -> anyhow::Result<()> {
    let jobs: Arc<dyn JobQueue> = module.resolve();
    let scheduler: Arc<dyn Scheduler> = module.resolve();
    let bus: Arc<dyn EventBus> = module.resolve();
    for feature in registry.modules() {
        let name = feature.name;
        for job in &feature.jobs {
            jobs.register(job.task_type, (job.handler)(module))
                .map_err(|e| anyhow::anyhow!("feature module `{name}`: job `{}`: {e}", job.task_type))?;
        }
        for cron in &feature.cron {
            let Some(spec) = cron.spec.resolve(module) else {
                tracing::info!(module = name, cron = cron.name, "cron turned off by configuration");
                continue;
            };
            scheduler
                .schedule(cron.name, &spec, (cron.job)(module))
                .await
                .map_err(|e| anyhow::anyhow!("feature module `{name}`: cron `{}`: {e}", cron.name))?;
        }
        for sub in &feature.handles {
            bus.subscribe(sub.topic, sub.subscriber, (sub.handler)(module))
                .await
                .map_err(|e| anyhow::anyhow!("feature module `{name}`: subscriber `{}`: {e}", sub.subscriber))?;
        }
        tracing::info!(
            module = name,
            mount = feature.mount.unwrap_or("-"),
            permissions = feature.permissions.len(),
            jobs = feature.jobs.len(),
            cron = feature.cron.len(),
            subscribers = feature.handles.len(),
            "feature module"
        );
    }
    Ok(())
}
