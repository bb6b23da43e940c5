//! `/api/v1/auth/*`: registration, email verification, sessions and passwords.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::LOCATION;
use platform_ports::driving::{Credentials, LimitedAction, RegisterUser};
use platform_ports::model::RequestContext;

use crate::extract::{AppJson, Ctx};
use crate::problem::Problem;
use crate::security::SecurityDeps;
use crate::security::dto::{
    Accepted, ChangePasswordBody, ForgotBody, LoginBody, RefreshBody, RegisterBody, ResetBody, TokenBody,
    TokenPairView, UserView,
};
use crate::security::errors;
use crate::security::users::actor_id;

/// `POST auth/register` → 201 with the user and its `Location`.
pub(crate) async fn register(
    State(deps): State<SecurityDeps>,
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
    let location = format!("/api/v1/users/{}", user.id);
    Ok((
        StatusCode::CREATED,
        [(LOCATION, location)],
        AppJson(UserView::from(user)),
    )
        .into_response())
}

/// `POST auth/verify-email` → 204.
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

/// `POST auth/login` → 200 with a token pair.
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

/// `POST auth/refresh` → 200 with the rotated pair.
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

/// `POST auth/logout` → 204.
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

/// `POST auth/password/forgot` → 202, whether or not the email is known.
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

/// `POST auth/password/reset` → 204.
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

/// `POST auth/password/change` (authenticated) → 204.
pub(crate) async fn change_password(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
    AppJson(body): AppJson<ChangePasswordBody>,
) -> Result<StatusCode, Problem> {
    let user_id = actor_id(&ctx)?;
    deps.users
        .change_password(&ctx, user_id, &body.old_password, &body.new_password)
        .await
        .map_err(errors::identity)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /.well-known/jwks.json`: the public keys, or 404 when tokens are
/// signed with a shared secret.
pub(crate) async fn jwks(State(deps): State<SecurityDeps>) -> Result<Response, Problem> {
    let keys = deps
        .tokens
        .jwks()
        .ok_or_else(|| Problem::not_found("tokens are signed with a symmetric key: no JWKS"))?;
    // Verifiers poll this; a short cache spares the server without delaying
    // a key rotation by much.
    Ok(([(http::header::CACHE_CONTROL, "public, max-age=300")], AppJson(keys)).into_response())
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
