//! Who is calling: the bearer token's actor and tenant, or the tenant the
//! caller names in `x-tenant-id`.
//!
//! Nothing is rejected here. Public routes serve anonymous callers and even
//! callers with a stale token, so the verdict is left in the request's
//! extensions (one [`Caller`]) for the route guards and the
//! `Ctx` extractor to act on.

use std::sync::Arc;
use std::time::Duration;

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName};
use platform_ports::auth::Authenticator;
use platform_ports::identity::{API_KEY_PREFIX, ApiKeyError, ApiKeyService};
use platform_ports::model::{Actor, RequestContext, TenantId};

/// The header naming the tenant of an unauthenticated call.
pub(crate) const X_TENANT_ID: HeaderName = HeaderName::from_static("x-tenant-id");

/// The header an API key may come in instead of `Authorization: Bearer`.
pub(crate) const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

/// What the request's credentials turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AuthState {
    /// No bearer token (or no authenticator to check one).
    Anonymous,
    /// A verified token or API key; the context's actor is set.
    Authenticated,
    /// A bearer token or API key that did not verify.
    Invalid,
    /// An API key that did not verify, from a client over its failure limit.
    Throttled(Duration),
    /// The API key could not be checked (its store or cache failed).
    Unavailable,
}

/// The `x-tenant-id` header was not a UUID; routes that act in a tenant
/// answer 400 `invalid_tenant`.
#[derive(Clone, Debug)]
pub(crate) struct InvalidTenant(pub(crate) String);

/// What the middleware learnt about the caller, for the route guards and the
/// `Ctx` extractor: one request extension rather than three.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    /// The credentials' verdict.
    pub(crate) state: AuthState,
    /// Set when the tenant header was unusable.
    pub(crate) invalid_tenant: Option<InvalidTenant>,
    /// The request's context, shared (handlers get it without a copy).
    pub(crate) ctx: Arc<RequestContext>,
}

/// The outcome of [`identify`].
#[derive(Debug)]
pub(crate) struct Identity {
    /// The credentials' verdict.
    pub(crate) state: AuthState,
    /// Whether the tenant came from the token or the header (not the default).
    pub(crate) tenant_named: bool,
    /// Set when the tenant header was unusable.
    pub(crate) invalid_tenant: Option<InvalidTenant>,
}

/// Fills in `ctx.actor` and `ctx.tenant_id` from the headers.
///
/// A verified token decides the tenant; without one the tenant comes from
/// `x-tenant-id`, else it stays the default. Verification is synchronous and
/// answered from the authenticator's cache for repeated tokens, which is what
/// lets it run on every request.
pub(crate) fn identify(
    headers: &HeaderMap,
    authenticator: Option<&dyn Authenticator>,
    ctx: &mut RequestContext,
) -> Identity {
    let state = match (bearer(headers), authenticator) {
        (Some(token), Some(authenticator)) if !token.is_empty() => match authenticator.verify_token(token) {
            Ok(claims) => {
                ctx.tenant_id = claims.tenant_id;
                ctx.actor = Some(Actor {
                    user_id: claims.sub,
                    roles: claims.roles.clone(),
                    tenant_id: claims.tenant_id,
                    session_id: claims.sid,
                    api_key: None,
                });
                AuthState::Authenticated
            }
            Err(err) => {
                tracing::debug!(error = %err, "bearer token refused");
                AuthState::Invalid
            }
        },
        (Some(_), Some(_)) => AuthState::Invalid,
        _ => AuthState::Anonymous,
    };
    // A header that is present must name a tenant, even when a token wins
    // over it: an empty or malformed `x-tenant-id` is a client bug worth a
    // 400, not something to ignore silently.
    let header = headers.get(X_TENANT_ID).map(|value| {
        value
            .to_str()
            .map_err(|_| "is not visible ASCII".to_owned())
            .and_then(|text| match text.trim() {
                "" => Err("is empty".to_owned()),
                text => text.parse::<TenantId>().map_err(|err| err.to_string()),
            })
    });
    let invalid_tenant = match &header {
        Some(Err(reason)) => Some(InvalidTenant(reason.clone())),
        _ => None,
    };
    if state == AuthState::Authenticated {
        return Identity {
            state,
            tenant_named: true,
            invalid_tenant,
        };
    }
    match header {
        Some(Ok(tenant)) => {
            ctx.tenant_id = tenant;
            Identity {
                state,
                tenant_named: true,
                invalid_tenant: None,
            }
        }
        _ => Identity {
            state,
            tenant_named: false,
            invalid_tenant,
        },
    }
}

/// The API key of the request: `X-API-Key: <key>`, or a bearer token that
/// starts with `plt_` (a JWT never does: it starts with `eyJ`). Checked
/// before the JWT path, which it leaves as it was for every other request.
pub(crate) fn api_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get(X_API_KEY) {
        // Whatever it holds, the caller meant a key: a malformed one is a
        // failed key (counted), not an anonymous call.
        return Some(value.to_str().map(str::trim).unwrap_or_default());
    }
    bearer(headers).filter(|token| token.starts_with(API_KEY_PREFIX))
}

/// Fills in `ctx.actor` and `ctx.tenant_id` from an API key: the key decides
/// the tenant, and `x-tenant-id` is ignored.
pub(crate) async fn identify_api_key(key: &str, keys: &dyn ApiKeyService, ctx: &mut RequestContext) -> Identity {
    let state = match keys.authenticate(ctx, key).await {
        Ok(actor) => {
            ctx.tenant_id = actor.tenant_id;
            ctx.actor = Some(actor);
            AuthState::Authenticated
        }
        Err(ApiKeyError::RateLimited { retry_after }) => AuthState::Throttled(retry_after),
        Err(err @ ApiKeyError::Backend(_)) => {
            tracing::warn!(error = %err, "API key could not be checked");
            AuthState::Unavailable
        }
        Err(err) => {
            tracing::debug!(error = %err, "API key refused");
            AuthState::Invalid
        }
    };
    Identity {
        state,
        tenant_named: state == AuthState::Authenticated,
        invalid_tenant: None,
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use http::HeaderValue;
    use platform_ports::auth::AccessClaims;
    use platform_ports::auth::TokenError;
    use platform_ports::auth::{AuthError, MockAuthenticator};
    use platform_ports::model::{TokenFamilyId, UserId};
    use uuid::Uuid;

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    fn claims(tenant: TenantId) -> AccessClaims {
        AccessClaims {
            sub: UserId::new(),
            roles: vec!["admin".to_owned()],
            tenant_id: tenant,
            exp: 2_000_000_000,
            iat: 1_000_000_000,
            jti: "j".to_owned(),
            iss: "platform".to_owned(),
            aud: "platform".to_owned(),
            sid: Some(TokenFamilyId::new()),
        }
    }

    fn authenticator(good: AccessClaims) -> MockAuthenticator {
        let mut mock = MockAuthenticator::new();
        mock.expect_verify_token().returning(move |token| {
            if token == "good" {
                Ok(Arc::new(good.clone()))
            } else {
                Err(AuthError::InvalidToken(Some(TokenError::BadSignature)))
            }
        });
        mock
    }

    #[test]
    fn api_keys_come_from_x_api_key_or_a_plt_bearer_token() {
        assert_eq!(api_key(&headers(&[("x-api-key", " plt_abc ")])), Some("plt_abc"));
        // Whatever X-API-Key holds is a key attempt, never an anonymous call.
        assert_eq!(api_key(&headers(&[("x-api-key", "nope")])), Some("nope"));
        assert_eq!(
            api_key(&headers(&[("authorization", "Bearer plt_abc")])),
            Some("plt_abc")
        );
        // JWTs stay on their own path.
        assert_eq!(api_key(&headers(&[("authorization", "Bearer eyJhbGciOi.x.y")])), None);
        assert_eq!(api_key(&headers(&[("authorization", "Basic plt_abc")])), None);
        assert_eq!(api_key(&HeaderMap::new()), None);
    }

    #[test]
    fn reads_only_bearer_tokens() {
        assert_eq!(bearer(&headers(&[("authorization", "Bearer abc")])), Some("abc"));
        assert_eq!(bearer(&headers(&[("authorization", "bearer  abc ")])), Some("abc"));
        assert_eq!(bearer(&headers(&[("authorization", "Bearer")])), Some(""));
        assert_eq!(bearer(&headers(&[("authorization", "Basic abc")])), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
    }

    #[test]
    fn a_verified_token_sets_the_actor_and_wins_over_the_header() {
        let token_tenant = TenantId(Uuid::now_v7());
        let good = claims(token_tenant);
        let mock = authenticator(good.clone());
        let mut ctx = RequestContext::system("r");
        let identity = identify(
            &headers(&[
                ("authorization", "Bearer good"),
                ("x-tenant-id", &Uuid::now_v7().to_string()),
            ]),
            Some(&mock),
            &mut ctx,
        );
        assert_eq!(identity.state, AuthState::Authenticated);
        assert!(identity.invalid_tenant.is_none());
        assert_eq!(ctx.tenant_id, token_tenant);
        let actor = ctx.actor.unwrap();
        assert_eq!(actor.user_id, good.sub);
        assert_eq!(actor.tenant_id, token_tenant);
        assert_eq!(actor.session_id, good.sid);
        assert_eq!(actor.roles, good.roles);
    }

    #[test]
    fn an_empty_or_malformed_header_is_reported_even_with_a_token() {
        let mock = authenticator(claims(TenantId::DEFAULT));
        for value in ["", "  ", "not-a-uuid"] {
            for auth in [None, Some("Bearer good")] {
                let mut pairs = vec![("x-tenant-id", value)];
                pairs.extend(auth.map(|a| ("authorization", a)));
                let mut ctx = RequestContext::system("r");
                let identity = identify(&headers(&pairs), Some(&mock), &mut ctx);
                assert!(identity.invalid_tenant.is_some(), "{value:?} {auth:?}");
            }
        }
    }

    #[test]
    fn a_refused_token_leaves_the_header_tenant() {
        let mock = authenticator(claims(TenantId::DEFAULT));
        let tenant = Uuid::now_v7();
        let mut ctx = RequestContext::system("r");
        let identity = identify(
            &headers(&[("authorization", "Bearer forged"), ("x-tenant-id", &tenant.to_string())]),
            Some(&mock),
            &mut ctx,
        );
        assert_eq!(identity.state, AuthState::Invalid);
        assert!(identity.tenant_named);
        assert_eq!(ctx.tenant_id, TenantId(tenant));
        assert!(ctx.actor.is_none());

        let mut ctx = RequestContext::system("r");
        let identity = identify(&headers(&[("authorization", "Bearer ")]), Some(&mock), &mut ctx);
        assert_eq!(identity.state, AuthState::Invalid);
    }

    #[test]
    fn without_a_token_the_header_or_the_default_tenant_applies() {
        let mut ctx = RequestContext::system("r");
        let identity = identify(&headers(&[("x-tenant-id", "nope")]), None, &mut ctx);
        assert_eq!(identity.state, AuthState::Anonymous);
        assert!(identity.invalid_tenant.is_some());
        assert_eq!(ctx.tenant_id, TenantId::DEFAULT);

        let mut ctx = RequestContext::system("r");
        let identity = identify(&HeaderMap::new(), None, &mut ctx);
        assert!(!identity.tenant_named);
        assert!(identity.invalid_tenant.is_none());
        assert_eq!(ctx.tenant_id, TenantId::DEFAULT);

        // No authenticator configured: a token cannot be checked, so it is ignored.
        let mut ctx = RequestContext::system("r");
        let identity = identify(&headers(&[("authorization", "Bearer x")]), None, &mut ctx);
        assert_eq!(identity.state, AuthState::Anonymous);
    }
}
