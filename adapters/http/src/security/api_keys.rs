//! `/api/v1/api-keys*`: create (the key is in that answer only), list, get
//! and revoke the tenant's API keys.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use http::StatusCode;
use http::header::LOCATION;
use platform_ports::authz::Permission;
use platform_ports::identity::{ApiKey, ApiKeyError, NewApiKey};
use platform_ports::model::{
    ApiKeyId, FieldError, TenantId, UserId, ValidationErrors, rfc3339_micros, rfc3339_micros_opt,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::extract::{AppJson, Ctx};
use crate::list::ListView;
use crate::module::Mount;
use crate::openapi::components::{BadRequest, Forbidden, NotFound, ServiceUnavailable, Unauthorized, Unprocessable};
use crate::params::PathParams;
use crate::problem::Problem;
use crate::security::SecurityDeps;
use crate::security::dto::PERMISSION_PATTERN;
use crate::security::errors;

/// Creates an API key (`POST /api/v1/api-keys`).
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct CreateApiKeyBody {
    /// A label: once trimmed, 1 to 100 characters (blank: 422 `required`)
    /// without control characters (U+0000–U+001F, U+007F–U+009F). The length
    /// is of the trimmed name, so the pattern states it, not `maxLength`.
    #[schema(
        example = "billing-sync",
        min_length = 1,
        pattern = r"^\s*[^\s\u0000-\u001F\u007F-\u009F]([^\u0000-\u001F\u007F-\u009F]{0,98}[^\s\u0000-\u001F\u007F-\u009F])?\s*$"
    )]
    name: String,
    /// Permissions the key may use, at least one: each must be one the
    /// caller holds (403 `scope_not_held` otherwise).
    #[schema(schema_with = scope_names, example = json!(["blog.post.read"]))]
    scopes: Vec<String>,
    /// When the key stops working; absent or `null`: never. Must be in the
    /// future when the key is created (422 `in_the_past` otherwise).
    #[serde(default)]
    #[schema(example = "2099-12-31T23:59:59Z")]
    expires_at: Option<DateTime<Utc>>,
}

/// The schema of a key's scopes: one or more permission names
/// (`Permission::parse`; a malformed one is 422 `unknown_permission`).
fn scope_names() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(PERMISSION_PATTERN))
                .examples(["blog.post.read"]),
        )
        .min_items(Some(1))
        .build()
}

/// An API key as listed: never the key itself nor its hash.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ApiKeyView {
    #[schema(value_type = uuid::Uuid)]
    id: ApiKeyId,
    #[schema(value_type = uuid::Uuid)]
    tenant_id: TenantId,
    name: String,
    /// The key's first characters, to recognise it.
    #[schema(example = "plt_Xb3kQ9zA")]
    prefix: String,
    #[schema(value_type = Vec<String>)]
    scopes: Vec<Permission>,
    /// The user who created it; the key acts with at most their permissions.
    #[schema(value_type = uuid::Uuid)]
    created_by: UserId,
    #[serde(serialize_with = "rfc3339_micros")]
    created_at: DateTime<Utc>,
    #[schema(required = true)]
    #[serde(serialize_with = "rfc3339_micros_opt")]
    expires_at: Option<DateTime<Utc>>,
    /// Recorded at most about once a minute.
    #[schema(required = true)]
    #[serde(serialize_with = "rfc3339_micros_opt")]
    last_used_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    #[serde(serialize_with = "rfc3339_micros_opt")]
    revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for ApiKeyView {
    fn from(key: ApiKey) -> Self {
        Self {
            id: key.id,
            tenant_id: key.tenant_id,
            name: key.name,
            prefix: key.prefix,
            scopes: key.scopes,
            created_by: key.created_by,
            created_at: key.created_at,
            expires_at: key.expires_at,
            last_used_at: key.last_used_at,
            revoked_at: key.revoked_at,
        }
    }
}

/// A created key: the listed fields plus the key, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CreatedApiKeyView {
    /// Send as `Authorization: Bearer <key>` or `X-API-Key: <key>`. Not
    /// stored: it cannot be shown again.
    #[schema(example = "plt_Xb3kQ9zA…")]
    key: String,
    #[serde(flatten)]
    #[schema(inline)]
    api_key: ApiKeyView,
}

/// Creates an API key with scopes out of the caller's own permissions.
///
/// The answer holds the key (`plt_…`) once; only its SHA-256 hash is stored.
/// A scope the caller does not hold is refused (403 `scope_not_held`); an
/// API key cannot create keys (403 `api_key_not_allowed`).
#[utoipa::path(
    post,
    path = "/api-keys",
    tag = "api-keys",
    request_body = CreateApiKeyBody,
    responses(
        (status = 201, description = "Created; the only answer that holds the key.", body = CreatedApiKeyView,
            headers(("Location" = String, description = "`/api/v1/api-keys/{id}`"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn create(
    State(deps): State<SecurityDeps>,
    State(mount): State<Mount>,
    Ctx(ctx): Ctx,
    AppJson(body): AppJson<CreateApiKeyBody>,
) -> Result<Response, Problem> {
    let input = NewApiKey {
        name: body.name,
        scopes: parse_scopes(&body.scopes)?,
        expires_at: body.expires_at,
    };
    let created = deps.api_keys.create(&ctx, input).await.map_err(api_key_problem)?;
    let location = mount.path(format_args!("/api-keys/{}", created.key.id));
    let view = CreatedApiKeyView {
        key: created.secret.expose().to_owned(),
        api_key: created.key.into(),
    };
    Ok((StatusCode::CREATED, [(LOCATION, location)], AppJson(view)).into_response())
}

/// Lists every API key of the tenant, newest first, revoked ones included.
///
/// Keys are few, so the list is one page (`next_cursor` is `null`).
#[utoipa::path(
    get,
    path = "/api-keys",
    tag = "api-keys",
    responses(
        (status = 200, description = "Every key.", body = ListView<ApiKeyView>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn list(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
) -> Result<AppJson<ListView<ApiKeyView>>, Problem> {
    let keys = deps.api_keys.list(&ctx).await.map_err(api_key_problem)?;
    Ok(AppJson(ListView::all(keys.into_iter().map(ApiKeyView::from).collect())))
}

/// One API key.
#[utoipa::path(
    get,
    path = "/api-keys/{id}",
    tag = "api-keys",
    params(("id" = uuid::Uuid, Path, description = "The key's id.")),
    responses(
        (status = 200, description = "The key.", body = ApiKeyView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn get(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
) -> Result<AppJson<ApiKeyView>, Problem> {
    let id = path.parse::<ApiKeyId>("id")?;
    let key = deps.api_keys.get(&ctx, id).await.map_err(api_key_problem)?;
    Ok(AppJson(key.into()))
}

/// Revokes an API key: from the next request on, on every instance, it is
/// refused (401). Revoking twice keeps the first revocation time.
#[utoipa::path(
    post,
    path = "/api-keys/{id}/revoke",
    tag = "api-keys",
    params(("id" = uuid::Uuid, Path, description = "The key's id.")),
    responses(
        (status = 200, description = "The revoked key.", body = ApiKeyView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn revoke(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
) -> Result<AppJson<ApiKeyView>, Problem> {
    let id = path.parse::<ApiKeyId>("id")?;
    let key = deps.api_keys.revoke(&ctx, id).await.map_err(api_key_problem)?;
    Ok(AppJson(key.into()))
}

fn parse_scopes(raw: &[String]) -> Result<Vec<Permission>, Problem> {
    let mut errors = ValidationErrors::default();
    let mut scopes = Vec::with_capacity(raw.len());
    for value in raw {
        match Permission::parse(value) {
            Ok(permission) => scopes.push(permission),
            Err(err) => errors.push(FieldError::new("scopes", "unknown_permission", err.message)),
        }
    }
    errors.into_result().map_err(Problem::unprocessable)?;
    Ok(scopes)
}

/// The API-key use cases' errors as problems.
pub(crate) fn api_key_problem(err: ApiKeyError) -> Problem {
    match err {
        ApiKeyError::Validation(errors) => Problem::unprocessable(errors),
        ApiKeyError::ScopeNotHeld(missing) => {
            let names: Vec<&str> = missing.iter().map(Permission::as_str).collect();
            Problem::forbidden(format!(
                "a key's scopes must be permissions you hold; you do not hold: {}",
                names.join(", ")
            ))
            .with_code("scope_not_held")
            .with_title("Scope not held")
        }
        ApiKeyError::Forbidden(detail) => Problem::forbidden(detail)
            .with_code("api_key_not_allowed")
            .with_title("Not allowed with an API key"),
        ApiKeyError::NotFound => Problem::not_found("no such API key"),
        ApiKeyError::Unauthenticated | ApiKeyError::InvalidKey => errors::unauthorized(),
        ApiKeyError::RateLimited { retry_after } => errors::rate_limited(retry_after),
        err @ ApiKeyError::Backend(_) => Problem::service_unavailable().with_cause(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_stable_codes() {
        let check = |err, status: StatusCode, code: &str| {
            let problem = api_key_problem(err);
            assert_eq!(problem.status(), status);
            assert_eq!(problem.code(), code);
        };
        check(
            ApiKeyError::ScopeNotHeld(vec![Permission::declare("a.b.c")]),
            StatusCode::FORBIDDEN,
            "scope_not_held",
        );
        check(
            ApiKeyError::Forbidden("no"),
            StatusCode::FORBIDDEN,
            "api_key_not_allowed",
        );
        check(ApiKeyError::NotFound, StatusCode::NOT_FOUND, "not_found");
        check(ApiKeyError::InvalidKey, StatusCode::UNAUTHORIZED, "unauthorized");
        check(
            ApiKeyError::RateLimited {
                retry_after: std::time::Duration::from_secs(3),
            },
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
        );
        check(
            ApiKeyError::Backend("down".into()),
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
        );
    }

    #[test]
    fn malformed_scopes_are_unknown_permissions() {
        let problem = parse_scopes(&["Nope".to_owned()]).unwrap_err();
        assert_eq!(problem.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem.errors()[0].field, "scopes");
    }
}
