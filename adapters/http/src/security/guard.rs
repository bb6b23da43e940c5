//! Route layers that admit only authenticated callers, or callers holding a
//! permission: `get(handler).route_layer(require_permission(authz, PERM))`.
//!
//! They run before the handler's extractors, so an anonymous caller learns
//! nothing about the route's body or path rules.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use platform_ports::authz::Authorizer;
use platform_ports::authz::Permission;
use tower::{Layer, Service};

use crate::extract::MissingContext;
use crate::middleware::{AuthState, Caller};
use crate::problem::Problem;
use crate::security::errors;

/// A route layer admitting only the callers its rule accepts; see
/// [`require_authenticated`] and [`require_permission`].
#[derive(Clone)]
pub struct Require {
    rule: Arc<Rule>,
}

enum Rule {
    Authenticated,
    Permission {
        authorizer: Arc<dyn Authorizer>,
        permission: Permission,
    },
}

/// Admits callers with a valid access token; others get 401 `unauthorized`.
#[must_use]
pub fn require_authenticated() -> Require {
    Require {
        rule: Arc::new(Rule::Authenticated),
    }
}

/// Admits callers whose actor holds `permission`: 401 `unauthorized` without
/// a valid token, 403 `forbidden` without the permission, 503
/// `service_unavailable` when the authorizer's backend fails.
#[must_use]
pub fn require_permission(authorizer: Arc<dyn Authorizer>, permission: Permission) -> Require {
    Require {
        rule: Arc::new(Rule::Permission { authorizer, permission }),
    }
}

impl<S> Layer<S> for Require {
    type Service = RequireService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireService {
            inner,
            rule: Arc::clone(&self.rule),
        }
    }
}

/// The service [`Require`] wraps a route in.
#[derive(Clone)]
pub struct RequireService<S> {
    inner: S,
    // Shared: cloned into every request's future.
    rule: Arc<Rule>,
}

impl<S> Service<Request> for RequireService<S>
where
    S: Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // The clone is the one that was not polled ready; keep the ready one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let rule = Arc::clone(&self.rule);
        Box::pin(async move {
            // Split so that only the (Sync) parts are borrowed across the
            // authorizer's await.
            let (parts, body) = req.into_parts();
            match rule.check(&parts).await {
                Ok(()) => inner.call(Request::from_parts(parts, body)).await,
                Err(problem) => Ok(problem.into_response()),
            }
        })
    }
}

impl Rule {
    async fn check(&self, parts: &Parts) -> Result<(), Problem> {
        let caller = parts
            .extensions
            .get::<Caller>()
            .ok_or_else(|| Problem::internal().with_cause(MissingContext))?;
        let ctx = &*caller.ctx;
        match caller.state {
            AuthState::Authenticated if ctx.actor.is_some() => {}
            AuthState::Throttled(retry_after) => return Err(errors::rate_limited(retry_after)),
            AuthState::Unavailable => return Err(Problem::service_unavailable()),
            _ => return Err(errors::unauthorized()),
        }
        match self {
            // The routes open to any signed-in caller act on the user's own
            // account (profile, password): an API key would act there beyond
            // its scopes, so it is refused.
            Self::Authenticated if ctx.api_key().is_some() => Err(Problem::forbidden(
                "this route acts on a user's own account and needs the user's session",
            )
            .with_code("api_key_not_allowed")
            .with_title("Not allowed with an API key")),
            Self::Authenticated => Ok(()),
            Self::Permission { authorizer, permission } => {
                authorizer.authorize(ctx, permission).await.map_err(errors::authz)
            }
        }
    }
}
