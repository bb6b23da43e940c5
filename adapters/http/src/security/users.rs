//! `/api/v1/users*`: the caller's profile and user administration.

use axum::extract::State;
use http::StatusCode;
use platform_ports::identity::{UserFilter, UserUpdates};
use platform_ports::model::{Email, RequestContext, RoleId, UserId};

use crate::extract::{AppJson, Ctx};
use crate::list::ListView;
use crate::openapi::components::{
    BadRequest, Conflict, Forbidden, NotFound, PageQuery, ServiceUnavailable, Unauthorized, Unprocessable,
};
use crate::params::{PathParams, QueryParams};
use crate::problem::Problem;
use crate::security::SecurityDeps;
use crate::security::dto::{OwnProfileBody, ProfileBody, UserView};
use crate::security::errors;

/// The authenticated caller's id; the route guard guarantees one, so its
/// absence means the route was wired without the guard.
pub(crate) fn actor_id(ctx: &RequestContext) -> Result<UserId, Problem> {
    ctx.user_id().ok_or_else(errors::unauthorized)
}

/// The caller's own account.
#[utoipa::path(
    get,
    path = "/users/me",
    tag = "users",
    responses(
        (status = 200, description = "The caller.", body = UserView),
        (status = 401, response = Unauthorized),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn me(State(deps): State<SecurityDeps>, Ctx(ctx): Ctx) -> Result<AppJson<UserView>, Problem> {
    let user_id = actor_id(&ctx)?;
    let user = deps.users.get(&ctx, user_id).await.map_err(errors::own_account)?;
    Ok(AppJson(user.into()))
}

/// Updates the caller's display name or email, or opts the caller in to
/// (or out of) the digest mail of new posts (`digest`, off by default).
#[utoipa::path(
    patch,
    path = "/users/me",
    tag = "users",
    request_body = OwnProfileBody,
    responses(
        (status = 200, description = "The updated account.", body = UserView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 409, response = Conflict),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn update_me(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
    AppJson(body): AppJson<OwnProfileBody>,
) -> Result<AppJson<UserView>, Problem> {
    let user_id = actor_id(&ctx)?;
    let profile = ProfileBody {
        display_name: body.display_name,
        email: body.email,
    };
    update(&deps, &ctx, user_id, profile, body.digest)
        .await
        .map_err(|problem| {
            // A token whose user was deleted: 401, as on `GET /users/me`.
            if problem.status() == StatusCode::NOT_FOUND {
                errors::unauthorized()
            } else {
                problem
            }
        })
}

/// Lists the tenant's users.
#[utoipa::path(
    get,
    path = "/users",
    tag = "users",
    params(
        ("email" = Option<String>, Query, min_length = 1, pattern = r"^[^\u0000-\u001F\u007F-\u009F]+$", description = "Only emails containing this text."),
        ("verified" = Option<bool>, Query, description = "Only verified (`true`) or unverified (`false`) users."),
        ("role_id" = Option<uuid::Uuid>, Query, description = "Only holders of this role."),
        PageQuery,
    ),
    responses(
        (status = 200, description = "One page of users.", body = ListView<UserView>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = ServiceUnavailable),
    )
)]
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

/// One user.
#[utoipa::path(
    get,
    path = "/users/{id}",
    tag = "users",
    params(("id" = uuid::Uuid, Path, description = "The user's id.")),
    responses(
        (status = 200, description = "The user.", body = UserView),
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
) -> Result<AppJson<UserView>, Problem> {
    let user_id = path.parse::<UserId>("id")?;
    let user = deps.users.get(&ctx, user_id).await.map_err(errors::identity)?;
    Ok(AppJson(user.into()))
}

/// Updates a user's display name or email.
#[utoipa::path(
    patch,
    path = "/users/{id}",
    tag = "users",
    params(("id" = uuid::Uuid, Path, description = "The user's id.")),
    request_body = ProfileBody,
    responses(
        (status = 200, description = "The updated user.", body = UserView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn update_one(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
    AppJson(body): AppJson<ProfileBody>,
) -> Result<AppJson<UserView>, Problem> {
    let user_id = path.parse::<UserId>("id")?;
    update(&deps, &ctx, user_id, body, None).await
}

/// Deletes a user.
///
/// 409 `last_admin` when the tenant would be left without an administrator
/// (a user whose roles grant `identity.role.assign` and `identity.role.update`).
#[utoipa::path(
    delete,
    path = "/users/{id}",
    tag = "users",
    params(("id" = uuid::Uuid, Path, description = "The user's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 503, response = ServiceUnavailable),
    )
)]
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
    digest: Option<bool>,
) -> Result<AppJson<UserView>, Problem> {
    let updates = UserUpdates {
        digest,
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
