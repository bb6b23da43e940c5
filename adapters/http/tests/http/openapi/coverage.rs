//! Every route the platform serves is documented, and every documented
//! operation is served: the router itself is compared with `openapi()`.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use platform_adapter_http::{HttpSettings, OperationalDeps, build_router};
use platform_ports::authz::MockAuthorizer;
use platform_ports::error_bus::MockErrorPublisher;
use platform_ports::health::MockHealthRegistry;

use super::routes::served;
use super::{document, documented, modules};
use crate::support::FakeMetrics;

/// The router bootstrap serves: operational routes + every module's.
fn platform_router(extra: Router) -> Router {
    let (api, authenticator) = modules(MockAuthorizer::new());
    let deps = OperationalDeps {
        trace_context: None,
        health: Arc::new(MockHealthRegistry::new()),
        metrics: Arc::new(FakeMetrics::new(Ok(String::new()))),
        errors: Arc::new(MockErrorPublisher::new()),
        authenticator: Some(authenticator),
        api_keys: None,
    };
    let settings = HttpSettings {
        host: "127.0.0.1".to_owned(),
        port: 0,
        request_timeout: Duration::from_secs(5),
        shutdown_timeout: Duration::from_secs(1),
        max_body_bytes: 1024,
    };
    build_router(&deps, &settings, [api.merge(extra)])
}

fn route(method: &str, path: &str) -> (String, String) {
    (method.to_owned(), path.to_owned())
}

#[test]
fn every_served_route_is_documented_and_every_documented_one_is_served() {
    let served = served(&platform_router(Router::new()));
    let documented = documented(&document());
    // The parser must see the routes we know of, or the comparison is empty talk.
    for known in [
        route("GET", "/healthz"),
        route("GET", "/openapi.json"),
        route("GET", "/docs"),
        route("GET", "/.well-known/jwks.json"),
        route("PATCH", "/api/v1/users/{id}"),
        route("POST", "/api/v1/blog/posts/{id}/restore"),
    ] {
        assert!(served.contains(&known), "{known:?} not found in {served:#?}");
    }
    let undocumented: BTreeSet<_> = served.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "served but not documented (add #[utoipa::path] and list the handler in its module's OpenApi): {undocumented:#?}"
    );
    let unserved: BTreeSet<_> = documented.difference(&served).collect();
    assert!(unserved.is_empty(), "documented but not served: {unserved:#?}");
}

#[test]
fn a_route_added_without_documentation_is_caught() {
    let extra = Router::new()
        .route("/api/v1/undocumented", get(|| async { "x" }))
        .route("/api/v1/blog/posts/{id}/feature", post(|| async { "x" }))
        .nest_service("/static", get(|| async { "x" }));
    let served = served(&platform_router(extra));
    let undocumented: BTreeSet<_> = served.difference(&documented(&document())).cloned().collect();
    assert!(
        undocumented.contains(&route("GET", "/api/v1/undocumented")),
        "{undocumented:?}"
    );
    assert!(
        undocumented.contains(&route("POST", "/api/v1/blog/posts/{id}/feature")),
        "{undocumented:?}"
    );
    assert!(
        undocumented.iter().any(|(_, path)| path.starts_with("/static")),
        "{undocumented:?}"
    );
}

#[test]
fn a_method_added_to_a_documented_path_is_caught() {
    let extra = Router::new().route("/api/v1/blog/posts", axum::routing::patch(|| async { "x" }));
    let served = served(&platform_router(extra));
    assert!(served.contains(&route("PATCH", "/api/v1/blog/posts")));
    assert!(!documented(&document()).contains(&route("PATCH", "/api/v1/blog/posts")));
}
