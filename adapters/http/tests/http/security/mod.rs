//! The security routes over real HTTP, with mockall mocks of the driving ports.

mod audit;
mod auth;
mod guard;
mod jwks;
mod passwords;
mod ratelimit;
mod roles;
mod tenant;
mod users;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use platform_adapter_http::{SecurityDeps, security_routes};
use platform_ports::audit::AuditEntry;
use platform_ports::audit::MockAuditor;
use platform_ports::auth::AccessClaims;
use platform_ports::auth::{AuthError, Authenticator, MockAuthenticator};
use platform_ports::auth::{MockTokenCodec, TokenError};
use platform_ports::authz::Permission;
use platform_ports::authz::{AuthzError, MockAuthorizer};
use platform_ports::identity::{MockRoleService, MockUserService};
use platform_ports::identity::{PasswordHash, Role, User};
use platform_ports::model::{AuditId, Email, RequestContext, RoleId, TenantId, TokenFamilyId, UserId};
use platform_ports::ratelimit::{MockRateLimiter, RateLimited};
use uuid::Uuid;

use crate::support::{Setup, TestApp};

/// The access token the mock authenticator accepts.
pub const TOKEN: &str = "valid.access.token";
/// The tenant that token acts in.
pub const TOKEN_TENANT: TenantId = TenantId(Uuid::from_u128(0x7e57));
/// The user that token names.
pub const TOKEN_USER: UserId = UserId(Uuid::from_u128(0xa11ce));

/// The claims of [`TOKEN`].
pub fn claims() -> AccessClaims {
    AccessClaims {
        sub: TOKEN_USER,
        roles: vec!["member".to_owned()],
        tenant_id: TOKEN_TENANT,
        exp: 4_000_000_000,
        iat: 1_700_000_000,
        jti: "jti-1".to_owned(),
        iss: "platform".to_owned(),
        aud: "platform-api".to_owned(),
        sid: Some(TokenFamilyId(Uuid::from_u128(0x5e55))),
    }
}

/// Whether `ctx` is the one the middleware builds from [`TOKEN`].
pub fn is_token_ctx(ctx: &RequestContext) -> bool {
    ctx.tenant_id == TOKEN_TENANT
        && ctx.actor.as_ref().is_some_and(|actor| {
            actor.user_id == TOKEN_USER
                && actor.tenant_id == TOKEN_TENANT
                && actor.roles == ["member"]
                && actor.session_id == claims().sid
        })
}

/// One mock per driving port; tests add expectations, then [`Ports::start`].
pub struct Ports {
    pub authenticator: MockAuthenticator,
    pub users: MockUserService,
    pub roles: MockRoleService,
    pub authorizer: MockAuthorizer,
    pub auditor: MockAuditor,
    pub tokens: MockTokenCodec,
    pub limiter: MockRateLimiter,
}

impl Ports {
    /// Mocks that accept [`TOKEN`] and refuse every other token; nothing else
    /// is expected.
    pub fn new() -> Self {
        let mut authenticator = MockAuthenticator::new();
        authenticator.expect_verify_token().returning(|token| {
            if token == TOKEN {
                Ok(Arc::new(claims()))
            } else {
                Err(AuthError::InvalidToken(Some(TokenError::BadSignature)))
            }
        });
        Self {
            authenticator,
            users: MockUserService::new(),
            roles: {
                // Read once when the routes are built, to list the declared
                // permissions in the document; a test may expect more calls.
                let mut roles = MockRoleService::new();
                roles
                    .expect_declared_permissions()
                    .times(0..=1)
                    .returning(|| vec![Permission::declare("identity.user.read")]);
                roles
            },
            authorizer: MockAuthorizer::new(),
            auditor: MockAuditor::new(),
            tokens: MockTokenCodec::new(),
            limiter: {
                let mut limiter = MockRateLimiter::new();
                limiter.expect_check().returning(|_, _, _| Ok(()));
                limiter
            },
        }
    }

    /// The authorizer grants `permission` to the token's actor, once.
    pub fn grant(mut self, permission: Permission) -> Self {
        self.authorizer
            .expect_authorize()
            .withf(move |ctx, asked| *asked == permission && is_token_ctx(ctx))
            .times(1)
            .returning(|_, _| Ok(()));
        self
    }

    /// The authorizer refuses `permission`.
    pub fn deny(mut self, permission: Permission) -> Self {
        self.authorizer
            .expect_authorize()
            .withf(move |_, asked| *asked == permission)
            .returning(|_, asked| Err(AuthzError::Forbidden(asked.clone())));
        self
    }

    /// Serves the security routes behind the real middleware.
    pub async fn start(self) -> TestApp {
        let authenticator: Arc<dyn Authenticator> = Arc::new(self.authenticator);
        let deps = SecurityDeps {
            authenticator: Arc::clone(&authenticator),
            users: Arc::new(self.users),
            roles: Arc::new(self.roles),
            authorizer: Arc::new(self.authorizer),
            auditor: Arc::new(self.auditor),
            tokens: Arc::new(self.tokens),
            limiter: Arc::new(self.limiter),
            api_keys: Arc::new(platform_ports::identity::MockApiKeyService::new()),
        };
        let mut setup = Setup::new(security_routes(deps, "/api/v1"));
        setup.authenticator = Some(authenticator);
        setup.spawn(Duration::from_secs(5)).await
    }
}

/// A fixed instant, for stable JSON.
pub fn at() -> DateTime<Utc> {
    "2026-03-04T05:06:07Z".parse().unwrap()
}

/// A user of the token's tenant with a real-looking hash that must never leak.
pub fn user(id: UserId) -> User {
    User {
        id,
        tenant_id: TOKEN_TENANT,
        email: Email::parse("ada@example.com").unwrap(),
        display_name: Some("Ada".to_owned()),
        password_hash: PasswordHash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()),
        email_verified: false,
        digest: false,
        created_at: at(),
        updated_at: at(),
    }
}

/// A role of the token's tenant.
pub fn role(id: RoleId) -> Role {
    Role {
        id,
        tenant_id: TOKEN_TENANT,
        name: "editor".to_owned(),
        description: Some("edits".to_owned()),
        permissions: vec![Permission::declare("blog.post.update")],
        created_at: at(),
        updated_at: at(),
    }
}

/// An audit entry of the token's tenant.
pub fn entry() -> AuditEntry {
    AuditEntry {
        id: AuditId(Uuid::from_u128(0xa0d1)),
        tenant_id: TOKEN_TENANT,
        actor_id: Some(TOKEN_USER),
        action: "user.created".to_owned(),
        target_id: Some("u-1".to_owned()),
        metadata: BTreeMap::from([("email".to_owned(), serde_json::json!("ada@example.com"))]),
        occurred_at: at(),
        request_id: Some("r-1".to_owned()),
        ip: Some("10.0.0.1".to_owned()),
        user_agent: Some("curl".to_owned()),
    }
}

/// A request with the valid bearer token.
pub fn authed(app: &TestApp, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    app.client.request(method, app.url(path)).bearer_auth(TOKEN)
}

/// Sends a JSON body without a token.
pub async fn post_json(app: &TestApp, path: &str, body: serde_json::Value) -> reqwest::Response {
    app.client.post(app.url(path)).json(&body).send().await.unwrap()
}

/// Mocks whose limiter refuses every attempt.
pub fn limited_ports() -> Ports {
    let mut ports = Ports::new();
    let mut limiter = MockRateLimiter::new();
    limiter.expect_check().returning(|_, _, _| {
        Err(RateLimited {
            retry_after: Duration::from_secs(30),
        })
    });
    ports.limiter = limiter;
    ports
}
