//! A feature module's HTTP surface, built from one table: each route is its
//! handler (whose `#[utoipa::path]` gives the method, the path under the
//! module's mount and the documentation) and who may call it. The router's
//! guard and the document's `security` / `x-permission` both come from that
//! one [`Access`], so they cannot disagree.
//!
//! Routes are registered with full paths (`{mount}/posts/{id}`) rather than
//! `Router::nest`: a nested router costs every request a second route
//! lookup, a prefix strip and more boxed services (tests/load/README.md).

use std::fmt;
use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use platform_ports::authz::{Authorizer, Permission};
use utoipa::openapi::OpenApi;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{OpenApiBuilder, extensions::ExtensionsBuilder};
use utoipa_axum::router::UtoipaMethodRouter;

use crate::openapi::conventions::{BEARER, PERMISSION_EXTENSION, operations_mut};
use crate::security::{require_authenticated, require_permission};

/// A module's routes (state applied, full paths under its mount) and their
/// OpenAPI paths under the same mount: pass them to `build_router`.
pub struct ModuleRoutes {
    /// The routes, ready to merge.
    pub router: Router,
    /// The routes' operations and the schemas they reference.
    pub openapi: OpenApi,
}

impl ModuleRoutes {
    /// Both modules' routes and documentation.
    #[must_use]
    pub fn merge(mut self, other: impl Into<Self>) -> Self {
        let other = other.into();
        self.router = self.router.merge(other.router);
        self.openapi.merge(other.openapi);
        self
    }
}

impl Default for ModuleRoutes {
    fn default() -> Self {
        Self::from(Router::new())
    }
}

/// Routes without documentation (the route-coverage test flags them).
impl From<Router> for ModuleRoutes {
    fn from(router: Router) -> Self {
        Self {
            router,
            openapi: OpenApiBuilder::new().build(),
        }
    }
}

/// Who may call a route: the guard it gets and what the document says.
#[derive(Clone, Debug)]
pub(crate) enum Access {
    /// Anyone, no token needed.
    Public,
    /// Any caller with a valid access token (401 without).
    Authenticated,
    /// Callers holding the permission (401 without a token, 403 without it).
    Permission(Permission),
}

impl Access {
    /// States the rule on the operation: the bearer requirement and, for a
    /// permission, the `x-permission` extension.
    fn document(&self, operation: &mut Operation) {
        if matches!(self, Self::Public) {
            return;
        }
        operation.security = Some(vec![SecurityRequirement::new::<_, _, &str>(BEARER, [])]);
        if let Self::Permission(permission) = self {
            let extension = ExtensionsBuilder::new()
                .add(PERMISSION_EXTENSION, serde_json::json!(permission))
                .build();
            operation.extensions.get_or_insert_default().merge(extension);
        }
    }
}

/// Where a module is mounted (`/api/v1/blog`): handlers that answer with a
/// `Location` build it from here.
#[derive(Clone)]
pub(crate) struct Mount(Arc<str>);

impl Mount {
    /// `{mount}{rest}`.
    pub(crate) fn path(&self, rest: fmt::Arguments<'_>) -> String {
        format!("{}{rest}", self.0)
    }
}

/// A module's router state: its driving ports and its mount.
#[derive(Clone)]
pub(crate) struct Mounted<D> {
    pub(crate) deps: D,
    mount: Mount,
}

impl<D> FromRef<Mounted<D>> for Mount {
    fn from_ref(state: &Mounted<D>) -> Self {
        state.mount.clone()
    }
}

/// A module's route table being filled; see the module docs.
pub(crate) struct RouteTable<D> {
    mount: Mount,
    authorizer: Arc<dyn Authorizer>,
    router: Router<Mounted<D>>,
    openapi: OpenApi,
}

impl<D: Clone + Send + Sync + 'static> RouteTable<D> {
    /// An empty table for a module mounted at `mount` (`""` for the site root).
    pub(crate) fn new(mount: &str, authorizer: Arc<dyn Authorizer>) -> Self {
        Self {
            mount: Mount(Arc::from(mount.trim_end_matches('/'))),
            authorizer,
            router: Router::new(),
            openapi: OpenApiBuilder::new().build(),
        }
    }

    /// Adds one handler, `utoipa_axum::routes!(handler)`, open to `access`.
    ///
    /// One `.route` per handler: a method router's route layer covers every
    /// method added before it, so each handler gets its own guard.
    pub(crate) fn route(mut self, documented: UtoipaMethodRouter<Mounted<D>>, access: Access) -> Self {
        let (schemas, paths, handler) = documented;
        let handler = match &access {
            Access::Public => handler,
            Access::Authenticated => handler.route_layer(require_authenticated()),
            Access::Permission(permission) => {
                handler.route_layer(require_permission(Arc::clone(&self.authorizer), permission.clone()))
            }
        };
        for (path, mut item) in paths.paths {
            operations_mut(&mut item).for_each(|operation| access.document(operation));
            let full = self.mount.path(format_args!("{path}"));
            self.router = self.router.route(&full, handler.clone());
            let mut documented = utoipa::openapi::path::Paths::new();
            // A catch-all (`{*key}`) is axum's syntax; OpenAPI names it `{key}`.
            documented.paths.insert(full.replace("{*", "{"), item);
            self.openapi.paths.merge(documented);
        }
        self.openapi.components.get_or_insert_default().schemas.extend(schemas);
        self
    }

    /// The module's routes over `deps`.
    pub(crate) fn with_state(self, deps: D) -> ModuleRoutes {
        ModuleRoutes {
            router: self.router.with_state(Mounted {
                deps,
                mount: self.mount,
            }),
            openapi: self.openapi,
        }
    }
}
