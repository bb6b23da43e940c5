//! `/api/v1/users*`: the caller's profile and user administration.

use axum::extract::State;
use http::StatusCode;
use platform_ports::model::{Email, RequestContext, RoleId, UserFilter, UserId, UserUpdates};

use crate::extract::{AppJson, Ctx};
use crate::problem::Problem;
use crate::security::SecurityDeps;
use crate::security::dto::{ListView, ProfileBody, UserView};
use crate::security::errors;
use crate::security::params::{PathParams, QueryParams};

/// The authenticated caller's id; the route guard guarantees one, so its
/// absence means the route was wired without the guard.
pub(crate) fn actor_id(ctx: &RequestContext) -> Result<UserId, Problem> {
    ctx.user_id().ok_or_else(errors::unauthorized)
}

/// `GET users/me`.
pub(crate) async fn me(State(deps): State<SecurityDeps>, Ctx(ctx): Ctx) -> Result<AppJson<UserView>, Problem> {
    let user_id = actor_id(&ctx)?;
    let user = deps.users.get(&ctx, user_id).await.map_err(errors::identity)?;
    Ok(AppJson(user.into()))
}

/// `PATCH users/me`.
pub(crate) async fn update_me(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
    AppJson(body): AppJson<ProfileBody>,
) -> Result<AppJson<UserView>, Problem> {
    let user_id = actor_id(&ctx)?;
    update(&deps, &ctx, user_id, body).await
}

/// `GET users?email=&verified=&role_id=&limit=&cursor=`.
pub(crate) async fn list(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
    query: QueryParams,
) -> Result<AppJson<ListView<UserView>>, Problem> {
    let filter = UserFilter {
        email_contains: query.text("email")?.map(str::to_owned),
        email_verified: query.parse::<bool>("verified")?,
        role_id: query.parse::<RoleId>("role_id")?,
    };
    let page = query.page()?;
    let users = deps.users.list(&ctx, filter, page).await.map_err(errors::identity)?;
    Ok(AppJson(ListView::page(users)))
}

/// `GET users/{id}`.
pub(crate) async fn get(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
) -> Result<AppJson<UserView>, Problem> {
    let user_id = path.parse::<UserId>("id")?;
    let user = deps.users.get(&ctx, user_id).await.map_err(errors::identity)?;
    Ok(AppJson(user.into()))
}

/// `PATCH users/{id}`.
pub(crate) async fn update_one(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
    AppJson(body): AppJson<ProfileBody>,
) -> Result<AppJson<UserView>, Problem> {
    let user_id = path.parse::<UserId>("id")?;
    update(&deps, &ctx, user_id, body).await
}

/// `DELETE users/{id}` → 204.
pub(crate) async fn delete(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
) -> Result<StatusCode, Problem> {
    let user_id = path.parse::<UserId>("id")?;
    deps.users.delete(&ctx, user_id).await.map_err(errors::identity)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn update(
    deps: &SecurityDeps,
    ctx: &RequestContext,
    user_id: UserId,
    body: ProfileBody,
) -> Result<AppJson<UserView>, Problem> {
    let updates = UserUpdates {
        display_name: body.display_name,
        email: body
            .email
            .as_deref()
            .map(Email::parse)
            .transpose()
            .map_err(errors::invalid_field)?,
    };
    let user = deps
        .users
        .update_profile(ctx, user_id, updates)
        .await
        .map_err(errors::identity)?;
    Ok(AppJson(user.into()))
}
