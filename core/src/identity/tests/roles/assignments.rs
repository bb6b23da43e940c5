//! A role's permission set, and assigning it to users.

use platform_ports::StoreError;
use platform_ports::authz::Permission;
use platform_ports::identity::{IdentityError, RoleInput, RoleService};
use platform_ports::testing::TxOutcome;
use serde_json::json;

use super::super::{Harness, TENANT, anonymous, field_error};
use super::{expect_invalidated, role_id, stored_role, user, with_role};
use crate::permissions::{AUDIT_READ, ROLE_READ, USER_READ};

#[tokio::test]
async fn replacing_permissions_records_the_difference_and_drops_holders_caches() {
    let mut h = Harness::new();
    with_role(&mut h, stored_role(vec![USER_READ, ROLE_READ]));
    h.roles
        .expect_set_permissions()
        .withf(|_, t, id, p| *t == TENANT && *id == role_id() && p == [AUDIT_READ, USER_READ])
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    h.roles
        .expect_users_with_role()
        .returning(|_, _| Ok(vec![user(1), user(2)]));
    expect_invalidated(&mut h, &[user(1), user(2)]);
    let (roles, log) = h.roles();

    let role = roles
        .set_permissions(&anonymous(), role_id(), vec![USER_READ, AUDIT_READ])
        .await
        .unwrap();

    assert_eq!(role.permissions, [AUDIT_READ, USER_READ]);
    assert_eq!(log.actions(), ["permission.granted", "permission.revoked"]);
    assert_eq!(
        log.audit("permission.granted").metadata["permissions"],
        json!(["audit.log.read"])
    );
    assert_eq!(
        log.audit("permission.revoked").metadata["permissions"],
        json!(["identity.role.read"])
    );
    assert_eq!(log.event_types(), ["platform.permission.granted"]);
}

#[tokio::test]
async fn an_undeclared_permission_is_refused_before_any_work() {
    let (roles, log) = Harness::new().roles();
    let result = roles
        .set_permissions(&anonymous(), role_id(), vec![Permission::declare("x.y.z")])
        .await;
    assert_eq!(
        field_error(result),
        ("permissions".to_owned(), "unknown_permission".to_owned())
    );
    assert_eq!(log.begins(), 0);
}

#[tokio::test]
async fn a_failed_permission_write_rolls_back_and_keeps_caches() {
    let mut h = Harness::new();
    with_role(&mut h, stored_role(vec![]));
    h.roles
        .expect_set_permissions()
        .returning(|_, _, _, _| Err(StoreError::backend("connection lost")));
    let (roles, log) = h.roles();

    let err = roles
        .set_permissions(&anonymous(), role_id(), vec![USER_READ])
        .await
        .unwrap_err();

    assert!(matches!(err, IdentityError::Backend(_)), "{err:?}");
    assert_eq!(log.outcome(), TxOutcome::RolledBack);
}

#[tokio::test]
async fn permissions_given_to_update_are_applied_like_set_permissions() {
    let mut h = Harness::new();
    with_role(&mut h, stored_role(vec![USER_READ]));
    h.roles
        .expect_update()
        .withf(|_, r| r.permissions == [AUDIT_READ] && r.name == "editors")
        .times(1)
        .returning(|_, _| Ok(()));
    h.roles.expect_users_with_role().returning(|_, _| Ok(vec![user(3)]));
    expect_invalidated(&mut h, &[user(3)]);
    let (roles, log) = h.roles();
    let input = RoleInput {
        name: String::new(),
        description: None,
        permissions: vec![AUDIT_READ],
    };

    roles.update(&anonymous(), role_id(), input).await.unwrap();

    assert_eq!(log.actions(), ["permission.granted", "permission.revoked"]);
}

#[tokio::test]
async fn assigning_records_and_drops_the_users_cache() {
    let mut h = Harness::new();
    with_role(&mut h, stored_role(vec![USER_READ]));
    h.roles.expect_roles_of_user().returning(|_, _| Ok(vec![]));
    h.roles
        .expect_assign_to_user()
        .withf(|_, t, u, r| *t == TENANT && *u == user(5) && r == [role_id()])
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    expect_invalidated(&mut h, &[user(5)]);
    let (roles, log) = h.roles();

    roles.assign(&anonymous(), user(5), role_id()).await.unwrap();

    assert_eq!(log.actions(), ["role.assigned"]);
    assert_eq!(log.audit("role.assigned").target_id, Some(user(5).to_string()));
    assert_eq!(log.event_types(), ["platform.role.assigned"]);
    assert_eq!(log.event("platform.role.assigned").data["role"], "editors");
}

#[tokio::test]
async fn assigning_a_held_role_changes_nothing() {
    let mut h = Harness::new();
    let role = stored_role(vec![]);
    with_role(&mut h, role.clone());
    h.roles
        .expect_roles_of_user()
        .returning(move |_, _| Ok(vec![role.clone()]));
    let (roles, log) = h.roles();

    roles.assign(&anonymous(), user(5), role_id()).await.unwrap();

    assert!(log.actions().is_empty());
}

#[tokio::test]
async fn assigning_to_an_unknown_user_is_not_found() {
    let mut h = Harness::new();
    with_role(&mut h, stored_role(vec![]));
    h.roles.expect_roles_of_user().returning(|_, _| Ok(vec![]));
    h.roles
        .expect_assign_to_user()
        .returning(|_, _, _, _| Err(StoreError::NotFound));
    let (roles, log) = h.roles();

    let err = roles.assign(&anonymous(), user(5), role_id()).await.unwrap_err();

    assert!(matches!(err, IdentityError::NotFound), "{err:?}");
    assert_eq!(log.outcome(), TxOutcome::RolledBack);
}

#[tokio::test]
async fn revoking_records_and_drops_the_users_cache() {
    let mut h = Harness::new();
    with_role(&mut h, stored_role(vec![USER_READ]));
    h.roles
        .expect_revoke_from_user()
        .withf(|_, t, u, r| *t == TENANT && *u == user(5) && *r == role_id())
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    expect_invalidated(&mut h, &[user(5)]);
    let (roles, log) = h.roles();

    roles.revoke(&anonymous(), user(5), role_id()).await.unwrap();

    assert_eq!(log.actions(), ["role.revoked"]);
    assert_eq!(log.event_types(), ["platform.role.revoked"]);
}

#[tokio::test]
async fn revoking_a_role_not_held_is_not_found() {
    let mut h = Harness::new();
    with_role(&mut h, stored_role(vec![]));
    h.roles
        .expect_revoke_from_user()
        .returning(|_, _, _, _| Err(StoreError::NotFound));
    let (roles, log) = h.roles();

    let err = roles.revoke(&anonymous(), user(5), role_id()).await.unwrap_err();

    assert!(matches!(err, IdentityError::NotFound), "{err:?}");
    assert_eq!(log.outcome(), TxOutcome::RolledBack);
}
