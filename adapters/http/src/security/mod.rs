//! The security HTTP surface: `{mount}/auth|users|roles|permissions|audit|api-keys`
//! (the platform mounts it at `/api/v1`) and the JWKS, over the identity,
//! authentication, authorization and audit driving ports (contract: issue
//! 3's security API).
//!
//! Who the caller is was decided by the outer middleware (bearer token or
//! `x-tenant-id`); each route's entry in [`security_routes`] states what it
//! requires, which becomes its [`require_authenticated`] /
//! [`require_permission`] route layer and its documented access rule.

mod api_keys;
mod audit;
mod auth;
mod dto;
pub(crate) mod errors;
mod guard;
mod roles;
mod users;

use std::sync::Arc;

use axum::extract::FromRef;
use platform_ports::audit::Auditor;
use platform_ports::audit::permissions::LOG_READ;
use platform_ports::audit::permissions::chain::LOG_VERIFY;
use platform_ports::auth::Authenticator;
use platform_ports::auth::TokenCodec;
use platform_ports::authz::Authorizer;
use platform_ports::authz::Permission;
use platform_ports::identity::permissions as perm;
use platform_ports::identity::{ApiKeyService, RoleService, UserService};
use platform_ports::ratelimit::RateLimiter;
use utoipa_axum::routes;

use crate::module::{Access, ModuleRoutes, Mounted, RouteTable};

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
    /// API keys.
    pub api_keys: Arc<dyn ApiKeyService>,
}

impl FromRef<Mounted<SecurityDeps>> for SecurityDeps {
    fn from_ref(state: &Mounted<SecurityDeps>) -> Self {
        state.deps.clone()
    }
}

/// Every security route under `mount` (`/api/v1` in the platform's
/// manifest) and `GET /.well-known/jwks.json` (a well-known URI, always at
/// the site root), state applied, with their documentation: pass them
/// (with the other modules') to `build_router`.
pub fn security_routes(deps: SecurityDeps, mount: &str) -> ModuleRoutes {
    let needs = Access::Permission;
    let signed_in = || Access::Authenticated;
    let api = RouteTable::new(mount, Arc::clone(&deps.authorizer))
        .route(routes!(auth::register), Access::Public)
        .route(routes!(auth::verify_email), Access::Public)
        .route(routes!(auth::login), Access::Public)
        .route(routes!(auth::refresh), Access::Public)
        .route(routes!(auth::logout), Access::Public)
        .route(routes!(auth::forgot_password), Access::Public)
        .route(routes!(auth::reset_password), Access::Public)
        .route(routes!(auth::change_password), signed_in())
        .route(routes!(users::me), signed_in())
        .route(routes!(users::update_me), signed_in())
        .route(routes!(users::list), needs(perm::USER_READ))
        .route(routes!(users::get), needs(perm::USER_READ))
        .route(routes!(users::update_one), needs(perm::USER_UPDATE))
        .route(routes!(users::delete), needs(perm::USER_DELETE))
        .route(routes!(roles::assign), needs(perm::ROLE_ASSIGN))
        .route(routes!(roles::revoke), needs(perm::ROLE_ASSIGN))
        .route(routes!(roles::create), needs(perm::ROLE_CREATE))
        .route(routes!(roles::list), needs(perm::ROLE_READ))
        .route(routes!(roles::get), needs(perm::ROLE_READ))
        .route(routes!(roles::update), needs(perm::ROLE_UPDATE))
        .route(routes!(roles::delete), needs(perm::ROLE_DELETE))
        .route(routes!(roles::set_permissions), needs(perm::ROLE_UPDATE))
        .route(routes!(roles::permissions), needs(perm::PERMISSION_READ))
        .route(routes!(audit::query), needs(LOG_READ))
        .route(routes!(api_keys::create), needs(perm::APIKEY_MANAGE))
        .route(routes!(api_keys::list), needs(perm::APIKEY_MANAGE))
        .route(routes!(api_keys::get), needs(perm::APIKEY_MANAGE))
        .route(routes!(api_keys::revoke), needs(perm::APIKEY_MANAGE))
        .route(routes!(audit::verify), needs(LOG_VERIFY))
        .with_state(deps.clone());
    let mut api = api;
    document_declared_permissions(&mut api.openapi, &deps.roles.declared_permissions());
    let well_known = RouteTable::new("", Arc::clone(&deps.authorizer))
        .route(routes!(auth::jwks), Access::Public)
        .with_state(deps);
    api.merge(well_known)
}

/// Lists the declared permissions as the only values a role body's
/// `permissions` items may take: the server refuses any other name (422
/// `unknown_permission`), so the document says so. The catalog is known
/// only once the feature modules are mounted, hence not in the derive.
fn document_declared_permissions(doc: &mut utoipa::openapi::OpenApi, declared: &[Permission]) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{ArrayItems, Schema};
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    for body in ["CreateRoleBody", "PermissionsBody"] {
        let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(body) else {
            continue;
        };
        let Some(RefOr::T(Schema::Array(array))) = object.properties.get_mut("permissions") else {
            continue;
        };
        if let ArrayItems::RefOrSchema(items) = &mut array.items
            && let RefOr::T(Schema::Object(item)) = items.as_mut()
        {
            item.enum_values = Some(declared.iter().map(|p| p.as_str().into()).collect());
        }
    }
}
