//! `/api/v1/roles*`, role assignment and the permission catalogue.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::LOCATION;
use platform_ports::driving::RoleInput;
use platform_ports::model::{FieldError, Permission, RoleId, UserId, ValidationErrors};

use crate::extract::{AppJson, Ctx};
use crate::problem::Problem;
use crate::security::SecurityDeps;
use crate::security::dto::{
    AssignRoleBody, CreateRoleBody, ItemsView, ListView, PermissionsBody, RoleView, UpdateRoleBody,
};
use crate::security::errors;
use crate::security::params::PathParams;

/// `POST roles` → 201 with the role and its `Location`.
pub(crate) async fn create(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
    AppJson(body): AppJson<CreateRoleBody>,
) -> Result<Response, Problem> {
    let input = RoleInput {
        name: body.name,
        description: body.description,
        permissions: parse_permissions(&body.permissions)?,
    };
    let role = deps.roles.create(&ctx, input).await.map_err(errors::identity)?;
    let location = format!("/api/v1/roles/{}", role.id);
    Ok((
        StatusCode::CREATED,
        [(LOCATION, location)],
        AppJson(RoleView::from(role)),
    )
        .into_response())
}

/// `GET roles`: every role of the tenant, in one page.
pub(crate) async fn list(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
) -> Result<AppJson<ListView<RoleView>>, Problem> {
    let roles = deps.roles.list(&ctx).await.map_err(errors::identity)?;
    Ok(AppJson(ListView::all(roles.into_iter().map(RoleView::from).collect())))
}

/// `GET roles/{id}`.
pub(crate) async fn get(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
) -> Result<AppJson<RoleView>, Problem> {
    let id = path.parse::<RoleId>("id")?;
    let role = deps.roles.get(&ctx, id).await.map_err(errors::identity)?;
    Ok(AppJson(role.into()))
}

/// `PATCH roles/{id}`: the port replaces name and description together, so
/// the fields the client left out are read from the current role first.
pub(crate) async fn update(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
    AppJson(body): AppJson<UpdateRoleBody>,
) -> Result<AppJson<RoleView>, Problem> {
    let id = path.parse::<RoleId>("id")?;
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

/// `DELETE roles/{id}` → 204.
pub(crate) async fn delete(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
) -> Result<StatusCode, Problem> {
    let id = path.parse::<RoleId>("id")?;
    deps.roles.delete(&ctx, id).await.map_err(errors::identity)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT roles/{id}/permissions`: replaces the role's permissions.
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

/// `POST users/{id}/roles` → 204.
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

/// `DELETE users/{id}/roles/{role_id}` → 204.
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

/// `GET permissions`: every declared permission, sorted.
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
