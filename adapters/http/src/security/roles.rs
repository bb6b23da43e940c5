//! `/api/v1/roles*`, role assignment and the permission catalogue.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::LOCATION;
use platform_ports::authz::Permission;
use platform_ports::identity::RoleInput;
use platform_ports::model::{FieldError, RoleId, UserId, ValidationErrors};

use crate::extract::{AppJson, Ctx};
use crate::list::ListView;
use crate::module::Mount;
use crate::openapi::components::{
    BadRequest, Conflict, Forbidden, NotFound, ServiceUnavailable, Unauthorized, Unprocessable,
};
use crate::params::PathParams;
use crate::problem::Problem;
use crate::security::SecurityDeps;
use crate::security::dto::{AssignRoleBody, CreateRoleBody, ItemsView, PermissionsBody, RoleView, UpdateRoleBody};
use crate::security::errors;

/// Creates a role.
#[utoipa::path(
    post,
    path = "/roles",
    tag = "roles",
    request_body = CreateRoleBody,
    responses(
        (status = 201, description = "Created.", body = RoleView,
            headers(("Location" = String, description = "`/api/v1/roles/{id}`"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn create(
    State(deps): State<SecurityDeps>,
    State(mount): State<Mount>,
    Ctx(ctx): Ctx,
    AppJson(body): AppJson<CreateRoleBody>,
) -> Result<Response, Problem> {
    let input = RoleInput {
        name: body.name,
        description: body.description,
        permissions: parse_permissions(&body.permissions)?,
    };
    let role = deps.roles.create(&ctx, input).await.map_err(errors::identity)?;
    let location = mount.path(format_args!("/roles/{}", role.id));
    Ok((
        StatusCode::CREATED,
        [(LOCATION, location)],
        AppJson(RoleView::from(role)),
    )
        .into_response())
}

/// Lists every role of the tenant.
///
/// Roles are few, so the list is one page (`next_cursor` is `null`).
#[utoipa::path(
    get,
    path = "/roles",
    tag = "roles",
    responses(
        (status = 200, description = "Every role.", body = ListView<RoleView>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn list(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
) -> Result<AppJson<ListView<RoleView>>, Problem> {
    let roles = deps.roles.list(&ctx).await.map_err(errors::identity)?;
    Ok(AppJson(ListView::all(roles.into_iter().map(RoleView::from).collect())))
}

/// One role.
#[utoipa::path(
    get,
    path = "/roles/{id}",
    tag = "roles",
    params(("id" = uuid::Uuid, Path, description = "The role's id.")),
    responses(
        (status = 200, description = "The role.", body = RoleView),
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
) -> Result<AppJson<RoleView>, Problem> {
    let id = path.parse::<RoleId>("id")?;
    let role = deps.roles.get(&ctx, id).await.map_err(errors::identity)?;
    Ok(AppJson(role.into()))
}

/// Renames or redescribes a role.
#[utoipa::path(
    patch,
    path = "/roles/{id}",
    tag = "roles",
    params(("id" = uuid::Uuid, Path, description = "The role's id.")),
    request_body = UpdateRoleBody,
    responses(
        (status = 200, description = "The updated role.", body = RoleView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn update(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
    AppJson(body): AppJson<UpdateRoleBody>,
) -> Result<AppJson<RoleView>, Problem> {
    let id = path.parse::<RoleId>("id")?;
    // The port replaces name and description together, so the fields the
    // client left out are read from the current role first.
    let current = deps.roles.get(&ctx, id).await.map_err(errors::identity)?;
    if body.name.is_none() && body.description.is_none() {
        return Ok(AppJson(current.into()));
    }
    let input = RoleInput {
        name: body.name.unwrap_or(current.name),
        description: body.description.unwrap_or(current.description),
        // Empty means "unchanged" to the port; permissions have their own route.
        permissions: Vec::new(),
    };
    let role = deps.roles.update(&ctx, id, input).await.map_err(errors::identity)?;
    Ok(AppJson(role.into()))
}

/// Deletes a role.
///
/// 409 `last_admin` when the tenant would be left without an administrator
/// (a user whose roles grant `identity.role.assign` and `identity.role.update`).
#[utoipa::path(
    delete,
    path = "/roles/{id}",
    tag = "roles",
    params(("id" = uuid::Uuid, Path, description = "The role's id.")),
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
    let id = path.parse::<RoleId>("id")?;
    deps.roles.delete(&ctx, id).await.map_err(errors::identity)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces a role's permissions.
///
/// Every permission must be declared (`GET /api/v1/permissions`); an unknown one is 422 `unknown_permission`.
///
/// 409 `last_admin` when the tenant would be left without an administrator
/// (a user whose roles grant `identity.role.assign` and `identity.role.update`).
#[utoipa::path(
    put,
    path = "/roles/{id}/permissions",
    tag = "roles",
    params(("id" = uuid::Uuid, Path, description = "The role's id.")),
    request_body = PermissionsBody,
    responses(
        (status = 200, description = "The role with its new permissions.", body = RoleView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn set_permissions(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
    AppJson(body): AppJson<PermissionsBody>,
) -> Result<AppJson<RoleView>, Problem> {
    let id = path.parse::<RoleId>("id")?;
    let permissions = parse_permissions(&body.permissions)?;
    let role = deps
        .roles
        .set_permissions(&ctx, id, permissions)
        .await
        .map_err(errors::identity)?;
    Ok(AppJson(role.into()))
}

/// Assigns a role to a user.
#[utoipa::path(
    post,
    path = "/users/{id}/roles",
    tag = "roles",
    params(("id" = uuid::Uuid, Path, description = "The user's id.")),
    request_body = AssignRoleBody,
    responses(
        (status = 204, description = "Assigned."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn assign(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
    AppJson(body): AppJson<AssignRoleBody>,
) -> Result<StatusCode, Problem> {
    let user_id = path.parse::<UserId>("id")?;
    deps.roles
        .assign(&ctx, user_id, body.role_id)
        .await
        .map_err(errors::identity)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes a role from a user.
///
/// 409 `last_admin` when the tenant would be left without an administrator
/// (a user whose roles grant `identity.role.assign` and `identity.role.update`).
#[utoipa::path(
    delete,
    path = "/users/{id}/roles/{role_id}",
    tag = "roles",
    params(
        ("id" = uuid::Uuid, Path, description = "The user's id."),
        ("role_id" = uuid::Uuid, Path, description = "The role's id."),
    ),
    responses(
        (status = 204, description = "Revoked."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn revoke(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
) -> Result<StatusCode, Problem> {
    let user_id = path.parse::<UserId>("id")?;
    let role_id = path.parse::<RoleId>("role_id")?;
    deps.roles
        .revoke(&ctx, user_id, role_id)
        .await
        .map_err(errors::identity)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every declared permission, sorted.
#[utoipa::path(
    get,
    path = "/permissions",
    tag = "roles",
    responses(
        (status = 200, description = "The permission catalogue.", body = ItemsView<String>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
pub(crate) async fn permissions(State(deps): State<SecurityDeps>) -> AppJson<ItemsView<String>> {
    let mut items: Vec<String> = deps
        .roles
        .declared_permissions()
        .into_iter()
        .map(String::from)
        .collect();
    items.sort_unstable();
    items.dedup();
    AppJson(ItemsView { items })
}

/// Checks each permission's form. A malformed one cannot be declared, so it
/// gets the same field and code as an undeclared one from the service.
fn parse_permissions(raw: &[String]) -> Result<Vec<Permission>, Problem> {
    let mut errors = ValidationErrors::default();
    let mut permissions = Vec::with_capacity(raw.len());
    for value in raw {
        match Permission::parse(value) {
            Ok(permission) => permissions.push(permission),
            Err(err) => errors.push(FieldError::new("permissions", "unknown_permission", err.message)),
        }
    }
    errors.into_result().map_err(Problem::unprocessable)?;
    Ok(permissions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_permissions_are_unknown_permissions() {
        let ok = parse_permissions(&["blog.post.read".to_owned(), "user.read".to_owned()]);
        assert_eq!(ok.unwrap().len(), 2);
        let problem = parse_permissions(&["Bad".to_owned(), "a.b".to_owned(), "x".to_owned()]).unwrap_err();
        assert_eq!(problem.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem.errors().len(), 2);
        assert!(
            problem
                .errors()
                .iter()
                .all(|e| e.field == "permissions" && e.code == "unknown_permission")
        );
    }
}
