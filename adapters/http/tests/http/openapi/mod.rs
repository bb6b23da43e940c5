//! The OpenAPI document, its coverage of the served routes, and `/docs`.

mod coverage;
mod docs_page;
mod document;
mod enforcement;
mod routes;

use std::sync::Arc;
use std::time::Duration;

use platform_adapter_http::{
    BlogDeps, FilesDeps, ModuleRoutes, SecurityDeps, blog_routes, files_routes, security_routes,
};
use platform_ports::auth::Authenticator;
use platform_ports::authz::{Authorizer, MockAuthorizer};
use platform_ports::blob::MockSignedUrlVerifier;
use platform_ports::blog::MockBlogService;
use platform_ports::files::MockFileService;
use platform_ports::health::HealthReport;

use crate::security::Ports;
use crate::support::{Setup, TestApp};

/// Every module's routes, as bootstrap merges them, over mocks that expect
/// nothing but token checks, the JWKS and the authorizer's verdicts.
pub fn modules(authorizer: MockAuthorizer) -> (ModuleRoutes, Arc<dyn Authenticator>) {
    let mut ports = Ports::new();
    ports.tokens.expect_jwks().returning(|| None);
    let authenticator: Arc<dyn Authenticator> = Arc::new(ports.authenticator);
    let authorizer: Arc<dyn Authorizer> = Arc::new(authorizer);
    let security = security_routes(
        SecurityDeps {
            authenticator: Arc::clone(&authenticator),
            users: Arc::new(ports.users),
            roles: Arc::new(ports.roles),
            authorizer: Arc::clone(&authorizer),
            auditor: Arc::new(ports.auditor),
            tokens: Arc::new(ports.tokens),
            limiter: Arc::new(ports.limiter),
            api_keys: Arc::new(platform_ports::identity::MockApiKeyService::new()),
        },
        "/api/v1",
    );
    let files = files_routes(
        FilesDeps {
            files: Arc::new(MockFileService::new()),
            verifier: Arc::new(MockSignedUrlVerifier::new()),
            authorizer: Arc::clone(&authorizer),
        },
        "/api/v1",
    );
    let blog = blog_routes(
        BlogDeps {
            blog: Arc::new(MockBlogService::new()),
            authorizer,
        },
        "/api/v1/blog",
    );
    (security.merge(files).merge(blog), authenticator)
}

/// The whole platform surface served behind the real middleware.
pub async fn serve(authorizer: MockAuthorizer) -> TestApp {
    let (api, authenticator) = modules(authorizer);
    let mut setup = Setup::new(api);
    setup.authenticator = Some(authenticator);
    setup.health.expect_check().returning(HealthReport::default);
    setup.spawn(Duration::from_secs(5)).await
}

/// `(METHOD, path template)` of every documented operation.
pub fn documented(doc: &serde_json::Value) -> std::collections::BTreeSet<(String, String)> {
    let mut out = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, _) in item.as_object().unwrap() {
            if routes::METHODS.contains(&method.as_str()) {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// The document of every module, as JSON.
pub fn document() -> serde_json::Value {
    let (modules, _) = modules(MockAuthorizer::new());
    serde_json::to_value(platform_adapter_http::openapi(modules.openapi)).unwrap()
}
