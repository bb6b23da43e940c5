//! The Webhooks HTTP surface: `{mount}/webhooks*` (the platform mounts it
//! at `/api/v1`) over the `WebhookService` driving port. Every route needs
//! `platform.webhook.manage` and acts in the caller's tenant.

mod dto;
mod routes;

use std::sync::Arc;

use axum::extract::FromRef;
use platform_ports::authz::Authorizer;
use platform_ports::webhooks::WebhookService;
use platform_ports::webhooks::permissions::WEBHOOK_MANAGE;
use utoipa_axum::routes;

use crate::module::{Access, ModuleRoutes, Mounted, RouteTable};

/// The driving ports the webhook routes call.
#[derive(Clone)]
pub struct WebhookDeps {
    /// Subscriptions and their delivery logs.
    pub webhooks: Arc<dyn WebhookService>,
    /// Decides the routes' permission.
    pub authorizer: Arc<dyn Authorizer>,
}

impl FromRef<Mounted<WebhookDeps>> for WebhookDeps {
    fn from_ref(state: &Mounted<WebhookDeps>) -> Self {
        state.deps.clone()
    }
}

/// Every webhook route under `mount`, state applied, with its documentation.
pub fn webhook_routes(deps: WebhookDeps, mount: &str) -> ModuleRoutes {
    let needs = || Access::Permission(WEBHOOK_MANAGE);
    RouteTable::new(mount, Arc::clone(&deps.authorizer))
        .route(routes!(routes::create), needs())
        .route(routes!(routes::list), needs())
        .route(routes!(routes::get), needs())
        .route(routes!(routes::update), needs())
        .route(routes!(routes::delete), needs())
        .route(routes!(routes::deliveries), needs())
        .route(routes!(routes::redeliver), needs())
        .with_state(deps)
}
