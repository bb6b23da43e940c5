//! `/api/v1/auth/*`: registration, email verification, sessions and passwords.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::LOCATION;
use platform_ports::auth::Credentials;
use platform_ports::identity::RegisterUser;
use platform_ports::model::RequestContext;
use platform_ports::ratelimit::LimitedAction;

use crate::extract::{AppJson, Ctx};
use crate::module::Mount;
use crate::openapi::components::{
    BadRequest, Conflict, Forbidden, NotFound, ServiceUnavailable, TenantHeader, TooManyRequests, Unauthorized,
    Unprocessable,
};
use crate::problem::Problem;
use crate::security::SecurityDeps;
use crate::security::dto::{
    Accepted, ChangePasswordBody, ForgotBody, LoginBody, RefreshBody, RegisterBody, ResetBody, TokenBody,
    TokenPairView, UserView,
};
use crate::security::errors;
use crate::security::users::actor_id;

/// Registers an account.
///
/// Mails a verification message. The new user is answered with its
/// `Location`; the password hash never appears in a response.
#[utoipa::path(
    post,
    path = "/auth/register",
    tag = "auth",
    params(TenantHeader),
    request_body = RegisterBody,
    responses(
        (status = 201, description = "Registered.", body = UserView,
            headers(("Location" = String, description = "`/api/v1/users/{id}`"))),
        (status = 400, response = BadRequest),
        (status = 409, response = Conflict),
        (status = 422, response = Unprocessable),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn register(
    State(deps): State<SecurityDeps>,
    State(mount): State<Mount>,
    Ctx(ctx): Ctx,
    AppJson(body): AppJson<RegisterBody>,
) -> Result<Response, Problem> {
    limit(&deps, &ctx, LimitedAction::Register, Some(body.email.clone())).await?;
    let input = RegisterUser {
        email: body.email,
        password: body.password,
        display_name: body.display_name,
    };
    let user = deps.users.register(&ctx, input).await.map_err(errors::identity)?;
    let location = mount.path(format_args!("/users/{}", user.id));
    Ok((
        StatusCode::CREATED,
        [(LOCATION, location)],
        AppJson(UserView::from(user)),
    )
        .into_response())
}

/// Verifies an email address with the mailed token.
#[utoipa::path(
    post,
    path = "/auth/verify-email",
    tag = "auth",
    params(TenantHeader),
    request_body = TokenBody,
    responses(
        (status = 204, description = "Verified."),
        (status = 400, response = BadRequest),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn verify_email(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
    AppJson(body): AppJson<TokenBody>,
) -> Result<StatusCode, Problem> {
    deps.users
        .verify_email(&ctx, &body.token)
        .await
        .map_err(errors::identity)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Logs in with email and password.
///
/// Answers a token pair: the access token for `Authorization: Bearer`, the
/// refresh token to renew it.
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    params(TenantHeader),
    request_body = LoginBody,
    responses(
        (status = 200, description = "Logged in.", body = TokenPairView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Unprocessable),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn login(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
    AppJson(body): AppJson<LoginBody>,
) -> Result<AppJson<TokenPairView>, Problem> {
    limit(&deps, &ctx, LimitedAction::Login, Some(body.email.clone())).await?;
    let credentials = Credentials {
        email: body.email,
        password: body.password,
        tenant_id: ctx.tenant_id,
    };
    let pair = deps
        .authenticator
        .login(&ctx, credentials)
        .await
        .map_err(errors::auth)?;
    Ok(AppJson(pair.into()))
}

/// Renews a session: trades a refresh token for a new pair.
///
/// Refresh tokens are single use; presenting a rotated one again revokes
/// the whole session.
#[utoipa::path(
    post,
    path = "/auth/refresh",
    tag = "auth",
    params(TenantHeader),
    request_body = RefreshBody,
    responses(
        (status = 200, description = "The rotated pair.", body = TokenPairView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 422, response = Unprocessable),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn refresh(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
    AppJson(body): AppJson<RefreshBody>,
) -> Result<AppJson<TokenPairView>, Problem> {
    limit(
        &deps,
        &ctx,
        LimitedAction::Refresh,
        Some(body.refresh_token.expose().to_owned()),
    )
    .await?;
    let pair = deps
        .authenticator
        .refresh(&ctx, &body.refresh_token)
        .await
        .map_err(errors::auth)?;
    Ok(AppJson(pair.into()))
}

/// Logs out: revokes the refresh token's session.
#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "auth",
    params(TenantHeader),
    request_body = RefreshBody,
    responses(
        (status = 204, description = "Logged out."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn logout(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
    AppJson(body): AppJson<RefreshBody>,
) -> Result<StatusCode, Problem> {
    deps.authenticator
        .logout(&ctx, &body.refresh_token)
        .await
        .map_err(errors::auth)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Asks for a password-reset message.
///
/// Answers 202 whether or not the email is registered, so the response
/// reveals nothing about which accounts exist.
#[utoipa::path(
    post,
    path = "/auth/password/forgot",
    tag = "auth",
    params(TenantHeader),
    request_body = ForgotBody,
    responses(
        (status = 202, description = "Accepted.", body = Accepted),
        (status = 400, response = BadRequest),
        (status = 422, response = Unprocessable),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn forgot_password(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
    AppJson(body): AppJson<ForgotBody>,
) -> Result<Response, Problem> {
    limit(&deps, &ctx, LimitedAction::PasswordReset, Some(body.email.clone())).await?;
    deps.users
        .request_password_reset(&ctx, &body.email)
        .await
        .map_err(errors::identity)?;
    Ok((StatusCode::ACCEPTED, AppJson(Accepted { status: "accepted" })).into_response())
}

/// Sets a new password with the mailed reset token.
#[utoipa::path(
    post,
    path = "/auth/password/reset",
    tag = "auth",
    params(TenantHeader),
    request_body = ResetBody,
    responses(
        (status = 204, description = "Password changed."),
        (status = 400, response = BadRequest),
        (status = 422, response = Unprocessable),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn reset_password(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
    AppJson(body): AppJson<ResetBody>,
) -> Result<StatusCode, Problem> {
    limit(
        &deps,
        &ctx,
        LimitedAction::PasswordReset,
        Some(body.token.expose().to_owned()),
    )
    .await?;
    deps.users
        .reset_password(&ctx, &body.token, &body.new_password)
        .await
        .map_err(errors::identity)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the caller's password.
#[utoipa::path(
    post,
    path = "/auth/password/change",
    tag = "auth",
    request_body = ChangePasswordBody,
    responses(
        (status = 204, description = "Password changed."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn change_password(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
    AppJson(body): AppJson<ChangePasswordBody>,
) -> Result<StatusCode, Problem> {
    let user_id = actor_id(&ctx)?;
    deps.users
        .change_password(&ctx, user_id, &body.old_password, &body.new_password)
        .await
        .map_err(errors::own_account)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The public keys that verify access tokens (JWKS).
///
/// 404 when tokens are signed with a shared secret (HS256): there is no
/// public key to publish.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "operational",
    responses(
        (status = 200, description = "The JSON Web Key Set (RS256).", body = Jwks),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn jwks(State(deps): State<SecurityDeps>) -> Result<Response, Problem> {
    let keys = deps
        .tokens
        .jwks()
        .ok_or_else(|| Problem::not_found("tokens are signed with a symmetric key: no JWKS"))?;
    // Verifiers poll this; a short cache spares the server without delaying
    // a key rotation by much.
    Ok(([(http::header::CACHE_CONTROL, "public, max-age=300")], AppJson(keys)).into_response())
}

/// A JSON Web Key Set (RFC 7517).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // only its schema is used: the token codec builds the document
pub(crate) struct Jwks {
    /// The public keys (`kty`, `kid`, `alg`, `use`, `n`, `e`).
    #[schema(value_type = Vec<Object>)]
    keys: Vec<serde_json::Value>,
}

/// Counts the attempt; over the limit → 429 with `Retry-After`.
async fn limit(
    deps: &SecurityDeps,
    ctx: &RequestContext,
    action: LimitedAction,
    account: Option<String>,
) -> Result<(), Problem> {
    deps.limiter
        .check(action, ctx.client_ip, account)
        .await
        .map_err(|limited| errors::rate_limited(limited.retry_after))
}
