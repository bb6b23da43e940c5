//! The Blog HTTP surface: `/api/v1/blog/posts*` over the `BlogService`
//! driving port. The route guards check the route's permission; who may act
//! on which post (authors, `blog.post.manage`) is the service's decision.

mod dto;
mod errors;
mod posts;

use std::sync::Arc;

use axum::Router;
use axum::routing::{delete, get, post, put};
use platform_ports::authz::Authorizer;
use platform_ports::authz::Permission;
use platform_ports::blog::BlogService;
use utoipa::OpenApi;

use crate::security::require_permission;

use platform_core::blog::permissions as perm;

/// The driving ports the blog routes call.
#[derive(Clone)]
pub struct BlogDeps {
    /// Posts and their workflow.
    pub blog: Arc<dyn BlogService>,
    /// Decides the routes' permissions.
    pub authorizer: Arc<dyn Authorizer>,
}

/// The blog routes' documentation.
#[derive(OpenApi)]
#[openapi(paths(
    posts::create,
    posts::list,
    posts::get,
    posts::update,
    posts::delete,
    posts::publish,
    posts::archive,
    posts::restore,
))]
pub(crate) struct BlogApi;

/// Every `/api/v1/blog` route, state applied: merge it with the other
/// modules' routers and pass the result as `build_router`'s `api`.
pub fn blog_routes(deps: BlogDeps) -> Router {
    let authorizer = Arc::clone(&deps.authorizer);
    let needs = move |permission: Permission| require_permission(Arc::clone(&authorizer), permission);

    // One `.route` per method and permission: a method router's route layer
    // covers every method added before it, so each gets its own. Full paths
    // rather than `nest`: a nested router costs every request a second route
    // lookup, a prefix strip and more boxed services (tests/load/README.md).
    let posts = Router::new()
        .route(
            "/api/v1/blog/posts",
            post(posts::create).route_layer(needs(perm::POST_CREATE)),
        )
        .route(
            "/api/v1/blog/posts",
            get(posts::list).route_layer(needs(perm::POST_READ)),
        )
        .route(
            "/api/v1/blog/posts/{id}",
            get(posts::get).route_layer(needs(perm::POST_READ)),
        )
        .route(
            "/api/v1/blog/posts/{id}",
            put(posts::update).route_layer(needs(perm::POST_UPDATE)),
        )
        .route(
            "/api/v1/blog/posts/{id}",
            delete(posts::delete).route_layer(needs(perm::POST_DELETE)),
        )
        // Archiving and restoring are steps of the publishing workflow, so
        // they need the same permission as publishing.
        .route(
            "/api/v1/blog/posts/{id}/publish",
            post(posts::publish).route_layer(needs(perm::POST_PUBLISH)),
        )
        .route(
            "/api/v1/blog/posts/{id}/archive",
            post(posts::archive).route_layer(needs(perm::POST_PUBLISH)),
        )
        .route(
            "/api/v1/blog/posts/{id}/restore",
            post(posts::restore).route_layer(needs(perm::POST_PUBLISH)),
        );

    posts.with_state(deps)
}
