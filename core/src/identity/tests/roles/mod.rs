//! Roles: create, read, rename, delete (assignments and permission sets in
//! [`assignments`]).

mod assignments;

use platform_ports::StoreError;
use platform_ports::authz::Permission;
use platform_ports::identity::Role;
use platform_ports::identity::{IdentityError, RoleInput, RoleService};
use platform_ports::model::RoleId;
use platform_ports::testing::TxOutcome;
use serde_json::json;

use super::*;
use crate::permissions::{AUDIT_READ, USER_READ};

const ROLE: u128 = 0x501e;

fn role_id() -> RoleId {
    RoleId(Uuid::from_u128(ROLE))
}

fn stored_role(permissions: Vec<Permission>) -> Role {
    Role {
        id: role_id(),
        tenant_id: TENANT,
        name: "editors".to_owned(),
        description: Some("Edit things".to_owned()),
        permissions,
        created_at: now(),
        updated_at: now(),
    }
}

fn with_role(h: &mut Harness, role: Role) {
    h.roles
        .expect_find_by_id()
        .withf(|t, _| *t == TENANT)
        .returning(move |_, id| Ok(Some(role.clone()).filter(|r| r.id == id)));
}

fn user(n: u128) -> UserId {
    UserId(Uuid::from_u128(n))
}

/// Expects exactly these users' cached permissions to be dropped, after commit.
fn expect_invalidated(h: &mut Harness, users: &[UserId]) {
    for user in users.iter().copied() {
        let committed = h.log.committed();
        h.resolver
            .expect_invalidate()
            .withf(move |u| *u == user && committed())
            .times(1)
            .returning(|_| Ok(()));
    }
}

#[tokio::test]
async fn creating_a_role_with_permissions_records_the_grant() {
    let mut h = Harness::new();
    h.roles
        .expect_create()
        .withf(|_, r| {
            r.name == "Editors team"
                && r.tenant_id == TENANT
                && r.description.is_none()
                && r.permissions == [AUDIT_READ, USER_READ]
        })
        .times(1)
        .returning(|_, _| Ok(()));
    let (roles, log) = h.roles();
    let input = RoleInput {
        name: "  Editors team ".to_owned(),
        description: Some("   ".to_owned()),
        permissions: vec![USER_READ, AUDIT_READ, USER_READ],
    };

    let role = roles.create(&as_user(user(1), None), input).await.unwrap();

    assert_eq!(role.permissions, [AUDIT_READ, USER_READ]);
    assert_eq!(log.outcome(), TxOutcome::Committed);
    assert_eq!(log.actions(), ["role.created", "permission.granted"]);
    assert_eq!(log.audit("role.created").actor_id, Some(user(1)));
    assert_eq!(
        log.audit("permission.granted").metadata["permissions"],
        json!(["audit.log.read", "identity.user.read"])
    );
    assert_eq!(log.event_types(), ["platform.permission.granted"]);
    assert_eq!(
        log.event("platform.permission.granted").data["role_id"],
        role.id.to_string()
    );
}

#[tokio::test]
async fn a_role_without_permissions_grants_nothing() {
    let mut h = Harness::new();
    h.roles.expect_create().returning(|_, _| Ok(()));
    let (roles, log) = h.roles();
    let input = RoleInput {
        name: "readers".to_owned(),
        ..RoleInput::default()
    };
    roles.create(&anonymous(), input).await.unwrap();
    assert_eq!(log.actions(), ["role.created"]);
    assert!(log.event_types().is_empty());
}

#[tokio::test]
async fn undeclared_permissions_and_bad_names_are_refused() {
    let (roles, log) = Harness::new().roles();
    let input = RoleInput {
        name: "ok".to_owned(),
        description: None,
        permissions: vec![USER_READ, Permission::declare("blog.post.read")],
    };
    let result = roles.create(&anonymous(), input).await;
    assert_eq!(
        field_error(result),
        ("permissions".to_owned(), "unknown_permission".to_owned())
    );

    let input = RoleInput {
        name: "../etc".to_owned(),
        ..RoleInput::default()
    };
    let result = roles.create(&anonymous(), input).await;
    assert_eq!(field_error(result), ("name".to_owned(), "invalid".to_owned()));
    assert_eq!(log.begins(), 0);
}

#[tokio::test]
async fn a_taken_name_is_a_conflict() {
    let mut h = Harness::new();
    h.roles
        .expect_create()
        .returning(|_, _| Err(StoreError::Conflict("role_name".into())));
    let (roles, log) = h.roles();
    let input = RoleInput {
        name: "editors".to_owned(),
        ..RoleInput::default()
    };
    let err = roles.create(&anonymous(), input).await.unwrap_err();
    assert!(
        matches!(&err, IdentityError::Conflict(c) if c == "role_name_taken"),
        "{err:?}"
    );
    assert_eq!(log.outcome(), TxOutcome::RolledBack);
}

#[tokio::test]
async fn renaming_keeps_the_permissions_and_the_caches() {
    let mut h = Harness::new();
    with_role(&mut h, stored_role(vec![USER_READ]));
    h.roles
        .expect_update()
        .withf(|_, r| {
            r.name == "writers" && r.permissions == [USER_READ] && r.description.as_deref() == Some("Edit things")
        })
        .times(1)
        .returning(|_, _| Ok(()));
    let (roles, log) = h.roles();
    let input = RoleInput {
        name: "writers".to_owned(),
        ..RoleInput::default()
    };

    let role = roles.update(&anonymous(), role_id(), input).await.unwrap();

    assert_eq!(role.name, "writers");
    assert_eq!(log.actions(), ["role.updated"]);
    assert_eq!(log.audit("role.updated").metadata["fields"], json!(["name"]));
    assert_eq!(log.outcome(), TxOutcome::Committed);
}

#[tokio::test]
async fn updating_a_missing_role_is_not_found() {
    let mut h = Harness::new();
    with_role(&mut h, stored_role(vec![]));
    let (roles, log) = h.roles();
    let input = RoleInput {
        name: "x".to_owned(),
        ..RoleInput::default()
    };
    let err = roles
        .update(&anonymous(), RoleId(Uuid::from_u128(1)), input)
        .await
        .unwrap_err();
    assert!(matches!(err, IdentityError::NotFound), "{err:?}");
    assert_eq!(log.outcome(), TxOutcome::RolledBack);
}

#[tokio::test]
async fn deleting_drops_the_caches_of_everyone_who_held_it() {
    let mut h = Harness::new();
    with_role(&mut h, stored_role(vec![USER_READ]));
    h.roles
        .expect_users_with_role()
        .times(1)
        .returning(|_, _| Ok(vec![user(1), user(2)]));
    h.roles
        .expect_delete()
        .withf(|_, t, id| *t == TENANT && *id == role_id())
        .times(1)
        .returning(|_, _, _| Ok(()));
    expect_invalidated(&mut h, &[user(1), user(2)]);
    let (roles, log) = h.roles();

    roles.delete(&anonymous(), role_id()).await.unwrap();

    assert_eq!(log.actions(), ["role.deleted"]);
    assert_eq!(log.audit("role.deleted").metadata["name"], "editors");
}

#[tokio::test]
async fn get_list_and_the_catalog() {
    let mut h = Harness::new();
    with_role(&mut h, stored_role(vec![]));
    h.roles
        .expect_list()
        .withf(|t| *t == TENANT)
        .returning(|_| Err(StoreError::backend("down")));
    let (roles, _) = h.roles();

    assert_eq!(roles.get(&anonymous(), role_id()).await.unwrap().name, "editors");
    assert!(matches!(
        roles.get(&anonymous(), RoleId(Uuid::from_u128(1))).await,
        Err(IdentityError::NotFound)
    ));
    assert!(matches!(roles.list(&anonymous()).await, Err(IdentityError::Backend(_))));
    let declared = roles.declared_permissions();
    assert_eq!(declared, PermissionCatalog::platform().all());
    assert!(declared.windows(2).all(|w| w[0] < w[1]));
}
