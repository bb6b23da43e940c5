//! The feature modules of this build: one entry each (manifest and routes).
//! Adding a module adds a line here (and its component to the shaku module).

use platform_adapter_http::{BlogDeps, ModuleRoutes, SecurityDeps, blog_routes, security_routes};
use platform_application::features::{BLOG, IDENTITY};
use platform_application::{FeatureModule, FeatureRegistry};
use shaku::HasComponent;

use crate::container::PlatformModule;

type Routes = fn(&PlatformModule) -> ModuleRoutes;

/// Every module: its manifest and how its routes are built from the container.
const FEATURES: &[(FeatureModule, Routes)] = &[(IDENTITY, identity_routes), (BLOG, blog)];

// The mounts belong in the manifests (`FeatureModule`); until they are
// there, they are named here, once per module.
fn identity_routes(m: &PlatformModule) -> ModuleRoutes {
    security_routes(
        SecurityDeps {
            authenticator: m.resolve(),
            users: m.resolve(),
            roles: m.resolve(),
            authorizer: m.resolve(),
            auditor: m.resolve(),
            tokens: m.resolve(),
            limiter: m.resolve(),
        },
        "/api/v1",
    )
}

fn blog(m: &PlatformModule) -> ModuleRoutes {
    blog_routes(
        BlogDeps {
            blog: m.resolve(),
            authorizer: m.resolve(),
        },
        "/api/v1/blog",
    )
}

/// The checked registry.
///
/// # Errors
/// When two modules clash (name or permission).
pub fn registry() -> anyhow::Result<FeatureRegistry> {
    FeatureRegistry::new(FEATURES.iter().map(|(manifest, _)| *manifest))
        .map_err(|e| anyhow::anyhow!("feature modules: {e}"))
}

/// Every module's routes, merged.
pub(crate) fn routes(module: &PlatformModule) -> ModuleRoutes {
    FEATURES.iter().fold(ModuleRoutes::default(), |merged, (_, routes)| {
        merged.merge(routes(module))
    })
}
