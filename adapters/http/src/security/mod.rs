//! The security HTTP surface: `/api/v1/auth|users|roles|permissions|audit`
//! and the JWKS, over the identity, authentication, authorization and audit
//! driving ports (contract: issue 3's security API).
//!
//! Who the caller is was decided by the outer middleware (bearer token or
//! `x-tenant-id`); each route here states what it requires with the
//! [`require_authenticated`] / [`require_permission`] route layers.

mod audit;
mod auth;
mod dto;
pub(crate) mod errors;
mod guard;
mod roles;
mod users;

use std::sync::Arc;

use axum::Router;
use axum::routing::{delete, get, patch, post, put};
use platform_core::permissions as perm;
use platform_ports::audit::Auditor;
use platform_ports::auth::Authenticator;
use platform_ports::auth::TokenCodec;
use platform_ports::authz::Authorizer;
use platform_ports::authz::Permission;
use platform_ports::identity::{RoleService, UserService};
use platform_ports::ratelimit::RateLimiter;
use utoipa::OpenApi;

pub use guard::{Require, RequireService, require_authenticated, require_permission};

/// The driving ports the security routes call.
#[derive(Clone)]
pub struct SecurityDeps {
    /// Login, refresh and logout.
    pub authenticator: Arc<dyn Authenticator>,
    /// Registration, verification, passwords and user administration.
    pub users: Arc<dyn UserService>,
    /// Roles, their permissions and assignments.
    pub roles: Arc<dyn RoleService>,
    /// Decides the routes' permissions.
    pub authorizer: Arc<dyn Authorizer>,
    /// Answers audit queries.
    pub auditor: Arc<dyn Auditor>,
    /// Publishes the token-signing public keys (JWKS).
    pub tokens: Arc<dyn TokenCodec>,
    /// Limits login, refresh, registration and password-reset attempts.
    pub limiter: Arc<dyn RateLimiter>,
}

/// The security routes' documentation.
#[derive(OpenApi)]
#[openapi(paths(
    auth::register,
    auth::verify_email,
    auth::login,
    auth::refresh,
    auth::logout,
    auth::forgot_password,
    auth::reset_password,
    auth::change_password,
    auth::jwks,
    users::me,
    users::update_me,
    users::list,
    users::get,
    users::update_one,
    users::delete,
    roles::assign,
    roles::revoke,
    roles::create,
    roles::list,
    roles::get,
    roles::update,
    roles::delete,
    roles::set_permissions,
    roles::permissions,
    audit::query,
))]
pub(crate) struct SecurityApi;

/// Every `/api/v1` security route and `GET /.well-known/jwks.json`, state
/// applied: pass it (merged with other modules) as `build_router`'s `api`.
pub fn security_routes(deps: SecurityDeps) -> Router {
    let authorizer = Arc::clone(&deps.authorizer);
    let needs = move |permission: Permission| require_permission(Arc::clone(&authorizer), permission);

    let auth = Router::new()
        .route("/api/v1/auth/register", post(auth::register))
        .route("/api/v1/auth/verify-email", post(auth::verify_email))
        .route("/api/v1/auth/login", post(auth::login))
        .route("/api/v1/auth/refresh", post(auth::refresh))
        .route("/api/v1/auth/logout", post(auth::logout))
        .route("/api/v1/auth/password/forgot", post(auth::forgot_password))
        .route("/api/v1/auth/password/reset", post(auth::reset_password))
        .route(
            "/api/v1/auth/password/change",
            post(auth::change_password).route_layer(require_authenticated()),
        );

    // One `.route` per method and permission: a method router's route layer
    // covers every method added before it, so each gets its own. Full paths
    // rather than `nest`, which costs every request a second route lookup.
    let api = Router::new()
        .merge(auth)
        .route(
            "/api/v1/users/me",
            get(users::me)
                .patch(users::update_me)
                .route_layer(require_authenticated()),
        )
        .route("/api/v1/users", get(users::list).route_layer(needs(perm::USER_READ)))
        .route(
            "/api/v1/users/{id}",
            get(users::get).route_layer(needs(perm::USER_READ)),
        )
        .route(
            "/api/v1/users/{id}",
            patch(users::update_one).route_layer(needs(perm::USER_UPDATE)),
        )
        .route(
            "/api/v1/users/{id}",
            delete(users::delete).route_layer(needs(perm::USER_DELETE)),
        )
        .route(
            "/api/v1/users/{id}/roles",
            post(roles::assign).route_layer(needs(perm::ROLE_ASSIGN)),
        )
        .route(
            "/api/v1/users/{id}/roles/{role_id}",
            delete(roles::revoke).route_layer(needs(perm::ROLE_ASSIGN)),
        )
        .route(
            "/api/v1/roles",
            post(roles::create).route_layer(needs(perm::ROLE_CREATE)),
        )
        .route("/api/v1/roles", get(roles::list).route_layer(needs(perm::ROLE_READ)))
        .route(
            "/api/v1/roles/{id}",
            get(roles::get).route_layer(needs(perm::ROLE_READ)),
        )
        .route(
            "/api/v1/roles/{id}",
            patch(roles::update).route_layer(needs(perm::ROLE_UPDATE)),
        )
        .route(
            "/api/v1/roles/{id}",
            delete(roles::delete).route_layer(needs(perm::ROLE_DELETE)),
        )
        .route(
            "/api/v1/roles/{id}/permissions",
            put(roles::set_permissions).route_layer(needs(perm::ROLE_UPDATE)),
        )
        .route(
            "/api/v1/permissions",
            get(roles::permissions).route_layer(needs(perm::PERMISSION_READ)),
        )
        .route("/api/v1/audit", get(audit::query).route_layer(needs(perm::AUDIT_READ)));

    api.route("/.well-known/jwks.json", get(auth::jwks)).with_state(deps)
}
