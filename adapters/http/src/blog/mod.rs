//! The Blog HTTP surface: `{mount}/posts*` (the platform mounts it at
//! `/api/v1/blog`) over the `BlogService` driving port. The route guards
//! check the route's permission; who may act on which post (authors,
//! `blog.post.manage`) is the service's decision.

mod attachments;
mod dto;
mod errors;
mod posts;

use std::sync::Arc;

use axum::extract::FromRef;
use platform_ports::authz::Authorizer;
use platform_ports::blog::BlogService;
use platform_ports::blog::permissions as perm;
use utoipa_axum::routes;

use crate::module::{Access, ModuleRoutes, Mounted, RouteTable};

/// The driving ports the blog routes call.
#[derive(Clone)]
pub struct BlogDeps {
    /// Posts and their workflow.
    pub blog: Arc<dyn BlogService>,
    /// Decides the routes' permissions.
    pub authorizer: Arc<dyn Authorizer>,
}

impl FromRef<Mounted<BlogDeps>> for BlogDeps {
    fn from_ref(state: &Mounted<BlogDeps>) -> Self {
        state.deps.clone()
    }
}

/// Every blog route under `mount` (`/api/v1/blog` in the platform's
/// manifest), state applied, with its documentation: pass it (with the
/// other modules') to `build_router`.
pub fn blog_routes(deps: BlogDeps, mount: &str) -> ModuleRoutes {
    let needs = Access::Permission;
    RouteTable::new(mount, Arc::clone(&deps.authorizer))
        .route(routes!(posts::create), needs(perm::POST_CREATE))
        .route(routes!(posts::list), needs(perm::POST_READ))
        .route(routes!(posts::get), needs(perm::POST_READ))
        .route(routes!(posts::update), needs(perm::POST_UPDATE))
        .route(routes!(posts::delete), needs(perm::POST_DELETE))
        // Archiving and restoring are steps of the publishing workflow, so
        // they need the same permission as publishing.
        .route(routes!(posts::publish), needs(perm::POST_PUBLISH))
        .route(routes!(posts::archive), needs(perm::POST_PUBLISH))
        .route(routes!(posts::restore), needs(perm::POST_PUBLISH))
        // A post's files are part of the post: changing them is updating it.
        .route(routes!(attachments::attach), needs(perm::POST_UPDATE))
        .route(routes!(attachments::cover), needs(perm::POST_UPDATE))
        .with_state(deps)
}
