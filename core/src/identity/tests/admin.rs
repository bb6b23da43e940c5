//! The bootstrap administrator.

use platform_ports::StoreError;
use platform_ports::authz::Permission;
use platform_ports::identity::Role;
use platform_ports::identity::UserService;
use platform_ports::model::RoleId;
use platform_ports::testing::TxOutcome;

use super::*;
use crate::permissions;

const PASSWORD: &str = "admin passphrase 1";

fn admin_role(permissions: Vec<Permission>) -> Role {
    Role {
        id: RoleId(Uuid::from_u128(0xad)),
        tenant_id: TENANT,
        name: "admin".to_owned(),
        description: None,
        permissions,
        created_at: now(),
        updated_at: now(),
    }
}

#[tokio::test]
async fn a_fresh_tenant_gets_a_verified_admin_holding_every_permission() {
    let mut h = Harness::new();
    h.users.expect_find_by_email().returning(|_, _| Ok(None));
    h.roles
        .expect_find_by_name()
        .withf(|t, n| *t == TENANT && n == "admin")
        .returning(|_, _| Ok(None));
    let all = PermissionCatalog::platform().all().to_vec();
    h.roles
        .expect_create()
        .withf(move |_, r| r.name == "admin" && r.permissions == all)
        .times(1)
        .returning(|_, _| Ok(()));
    h.users
        .expect_create()
        .withf(|_, u| u.email_verified && u.password_hash == phc(PASSWORD) && u.email.as_str() == "root@example.com")
        .times(1)
        .returning(|_, _| Ok(()));
    h.roles.expect_roles_of_user().returning(|_, _| Ok(vec![]));
    h.roles
        .expect_assign_to_user()
        .withf(|_, t, _, roles| *t == TENANT && roles.len() == 1)
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    let committed = h.log.committed();
    h.resolver
        .expect_invalidate()
        .withf(move |_| committed())
        .times(1)
        .returning(|_| Ok(()));
    let (users, log) = h.users();

    let admin = users
        .ensure_admin(&anonymous(), "Root@Example.com", &secret(PASSWORD))
        .await
        .unwrap();

    assert!(admin.email_verified);
    assert_eq!(log.outcome(), TxOutcome::Committed);
    assert_eq!(log.begins(), 1);
    assert_eq!(
        log.actions(),
        ["role.created", "permission.granted", "user.created", "role.assigned"]
    );
    assert!(log.audits().iter().all(|e| e.actor_id.is_none()));
    let granted = &log.audit("permission.granted").metadata["permissions"];
    assert_eq!(granted.as_array().unwrap().len(), permissions::ALL.len());
    assert_eq!(
        log.event_types(),
        [
            "platform.permission.granted",
            "platform.user.created",
            "platform.role.assigned"
        ]
    );
}

#[tokio::test]
async fn a_complete_admin_is_left_alone() {
    let mut h = Harness::new();
    let user = stored_user(1, "root@example.com", true);
    h.users
        .expect_find_by_email()
        .returning(move |_, _| Ok(Some(user.clone())));
    let role = admin_role(PermissionCatalog::platform().all().to_vec());
    let held = role.clone();
    h.roles
        .expect_find_by_name()
        .returning(move |_, _| Ok(Some(role.clone())));
    h.roles
        .expect_roles_of_user()
        .returning(move |_, _| Ok(vec![held.clone()]));
    // The existing password is kept: nothing is hashed.
    h.hasher.checkpoint();
    h.resolver.expect_invalidate().returning(|_| Ok(()));
    let (users, log) = h.users();

    let admin = users
        .ensure_admin(&anonymous(), "root@example.com", &secret(PASSWORD))
        .await
        .unwrap();

    assert_eq!(admin.password_hash, phc("old password 123"));
    assert!(log.actions().is_empty());
    assert!(log.event_types().is_empty());
}

#[tokio::test]
async fn an_existing_admin_role_is_completed_and_the_user_verified() {
    let mut h = Harness::new();
    let user = stored_user(1, "root@example.com", false);
    h.users
        .expect_find_by_email()
        .returning(move |_, _| Ok(Some(user.clone())));
    let stale = Permission::declare("retired.module.read");
    let role = admin_role(vec![permissions::USER_READ, stale.clone()]);
    h.roles
        .expect_find_by_name()
        .returning(move |_, _| Ok(Some(role.clone())));
    let all = PermissionCatalog::platform().all().to_vec();
    h.roles
        .expect_set_permissions()
        .withf(move |_, _, id, p| *id == RoleId(Uuid::from_u128(0xad)) && p == all.as_slice())
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    h.users
        .expect_update()
        .withf(|_, u| u.email_verified && u.password_hash == phc("old password 123"))
        .times(1)
        .returning(|_, _| Ok(()));
    h.roles.expect_roles_of_user().returning(|_, _| Ok(vec![]));
    h.roles.expect_assign_to_user().times(1).returning(|_, _, _, _| Ok(()));
    h.resolver.expect_invalidate().times(1).returning(|_| Ok(()));
    let (users, log) = h.users();

    users
        .ensure_admin(&anonymous(), "root@example.com", &secret(PASSWORD))
        .await
        .unwrap();

    assert_eq!(
        log.actions(),
        [
            "permission.granted",
            "permission.revoked",
            "user.email_verified",
            "role.assigned"
        ]
    );
    let granted = &log.audit("permission.granted").metadata["permissions"];
    assert!(
        !granted
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("identity.user.read"))
    );
    assert_eq!(
        log.audit("permission.revoked").metadata["permissions"],
        serde_json::json!(["retired.module.read"])
    );
}

#[tokio::test]
async fn a_weak_admin_password_is_refused() {
    let (users, log) = Harness::new().users();
    let result = users
        .ensure_admin(&anonymous(), "root@example.com", &secret("admin"))
        .await;
    assert_eq!(field_error(result), ("password".to_owned(), "too_short".to_owned()));
    assert_eq!(log.begins(), 0);
}

#[tokio::test]
async fn a_concurrent_bootstrap_is_retried_once() {
    let mut h = Harness::new();
    let user = stored_user(1, "root@example.com", true);
    let role = admin_role(PermissionCatalog::platform().all().to_vec());
    // First pass: nothing exists, and the insert loses the race.
    h.users.expect_find_by_email().times(1).returning(|_, _| Ok(None));
    h.roles.expect_find_by_name().times(1).returning(|_, _| Ok(None));
    h.roles
        .expect_create()
        .times(1)
        .returning(|_, _| Err(StoreError::Conflict("role_name".into())));
    // Second pass: the winner's rows are there.
    h.users
        .expect_find_by_email()
        .times(1)
        .returning(move |_, _| Ok(Some(user.clone())));
    let (found, held) = (role.clone(), role);
    h.roles
        .expect_find_by_name()
        .times(1)
        .returning(move |_, _| Ok(Some(found.clone())));
    h.roles
        .expect_roles_of_user()
        .returning(move |_, _| Ok(vec![held.clone()]));
    h.resolver.expect_invalidate().returning(|_| Ok(()));
    let (users, log) = h.users();

    let admin = users
        .ensure_admin(&anonymous(), "root@example.com", &secret(PASSWORD))
        .await;

    assert!(admin.is_ok(), "{admin:?}");
    assert_eq!(log.begins(), 2);
}
