//! Profiles: update, get, list, delete.

use platform_ports::StoreError;
use platform_ports::auth::VerificationPurpose;
use platform_ports::authz::AuthzError;
use platform_ports::identity::{IdentityError, UserService};
use platform_ports::identity::{UserFilter, UserUpdates};
use platform_ports::model::{Page, PageRequest};
use platform_ports::testing::TxOutcome;

use super::*;

const USER: u128 = 9;

fn user_id() -> UserId {
    UserId(Uuid::from_u128(USER))
}

fn with_user(h: &mut Harness, user: User) {
    h.users
        .expect_find_by_id()
        .withf(|t, _| *t == TENANT)
        .returning(move |_, id| Ok(Some(user.clone()).filter(|u| u.id == id)));
}

#[tokio::test]
async fn a_new_email_becomes_unverified_and_is_mailed_a_token() {
    let mut h = Harness::new();
    with_user(&mut h, stored_user(USER, "old@example.com", true));
    h.verification
        .expect_invalidate_user()
        .withf(|_, u, p, _| *u == user_id() && *p == VerificationPurpose::EmailVerification)
        .times(1)
        .returning(|_, _, _, _| Ok(1));
    h.verification
        .expect_insert()
        .withf(|_, t| t.purpose == VerificationPurpose::EmailVerification && t.user_id == user_id())
        .times(1)
        .returning(|_, _| Ok(()));
    h.users
        .expect_update()
        .withf(|_, u| {
            u.email.as_str() == "new@example.com" && !u.email_verified && u.display_name.as_deref() == Some("Ada")
        })
        .times(1)
        .returning(|_, _| Ok(()));
    h.expect_token_mail("new@example.com", "email_verification", |_| true);
    let (users, log) = h.users();
    let updates = UserUpdates {
        display_name: Some(Some(" Ada ".to_owned())),
        email: Some(Email::parse("new@example.com").unwrap()),
        digest: None,
    };

    let user = users
        .update_profile(&as_user(user_id(), None), user_id(), updates)
        .await
        .unwrap();

    assert!(!user.email_verified);
    assert_eq!(user.email.as_str(), "new@example.com");
    assert_eq!(log.outcome(), TxOutcome::Committed);
    assert_eq!(log.actions(), ["user.updated"]);
    assert_eq!(
        log.audit("user.updated").metadata["fields"],
        serde_json::json!(["display_name", "email"])
    );
    assert_eq!(log.event_types(), ["platform.user.updated"]);
}

#[tokio::test]
async fn clearing_the_display_name_is_a_change() {
    let mut h = Harness::new();
    let mut stored = stored_user(USER, "ada@example.com", true);
    stored.display_name = Some("Ada".to_owned());
    with_user(&mut h, stored);
    h.users
        .expect_update()
        .withf(|_, u| u.display_name.is_none() && u.email_verified)
        .times(1)
        .returning(|_, _| Ok(()));
    let (users, log) = h.users();
    let updates = UserUpdates {
        display_name: Some(None),
        email: None,
        digest: None,
    };

    let user = users.update_profile(&anonymous(), user_id(), updates).await.unwrap();

    assert_eq!(user.display_name, None);
    assert_eq!(
        log.audit("user.updated").metadata["fields"],
        serde_json::json!(["display_name"])
    );
}

#[tokio::test]
async fn opting_in_to_the_digest_is_a_recorded_change_and_sends_nothing() {
    let mut h = Harness::new();
    with_user(&mut h, stored_user(USER, "ada@example.com", true));
    h.users
        .expect_update()
        .withf(|_, u| u.digest && u.email_verified && u.email.as_str() == "ada@example.com")
        .times(1)
        .returning(|_, _| Ok(()));
    let (users, log) = h.users();
    let updates = UserUpdates {
        digest: Some(true),
        ..UserUpdates::default()
    };

    let user = users.update_profile(&anonymous(), user_id(), updates).await.unwrap();

    assert!(user.digest);
    assert_eq!(
        log.audit("user.updated").metadata["fields"],
        serde_json::json!(["digest"])
    );
}

#[tokio::test]
async fn the_digest_flag_as_stored_is_no_change() {
    let mut h = Harness::new();
    with_user(&mut h, stored_user(USER, "ada@example.com", true));
    let (users, log) = h.users();
    let updates = UserUpdates {
        digest: Some(false),
        ..UserUpdates::default()
    };

    let user = users.update_profile(&anonymous(), user_id(), updates).await.unwrap();

    assert!(!user.digest);
    assert!(log.actions().is_empty());
}

#[tokio::test]
async fn an_update_that_changes_nothing_records_nothing() {
    let mut h = Harness::new();
    with_user(&mut h, stored_user(USER, "ada@example.com", true));
    let (users, log) = h.users();
    let same = UserUpdates {
        display_name: None,
        email: Some(Email::parse("ADA@example.com").unwrap()),
        digest: None,
    };

    let user = users.update_profile(&anonymous(), user_id(), same).await.unwrap();

    assert!(user.email_verified);
    assert!(log.actions().is_empty());
}

#[tokio::test]
async fn a_taken_email_is_a_conflict_and_nothing_is_mailed() {
    let mut h = Harness::new();
    with_user(&mut h, stored_user(USER, "old@example.com", true));
    h.verification.expect_invalidate_user().returning(|_, _, _, _| Ok(0));
    h.verification.expect_insert().returning(|_, _| Ok(()));
    h.users
        .expect_update()
        .returning(|_, _| Err(StoreError::Conflict("email".into())));
    let (users, log) = h.users();
    let updates = UserUpdates {
        email: Some(Email::parse("taken@example.com").unwrap()),
        ..UserUpdates::default()
    };

    let err = users
        .update_profile(&anonymous(), user_id(), updates)
        .await
        .unwrap_err();

    assert!(
        matches!(&err, IdentityError::Conflict(c) if c == "email_taken"),
        "{err:?}"
    );
    assert_eq!(log.outcome(), TxOutcome::RolledBack);
}

#[tokio::test]
async fn a_long_display_name_is_refused() {
    let (users, log) = Harness::new().users();
    let updates = UserUpdates {
        display_name: Some(Some("n".repeat(101))),
        email: None,
        digest: None,
    };
    let result = users.update_profile(&anonymous(), user_id(), updates).await;
    assert_eq!(field_error(result), ("display_name".to_owned(), "too_long".to_owned()));
    assert_eq!(log.begins(), 0);
}

#[tokio::test]
async fn updating_a_missing_user_is_not_found() {
    let mut h = Harness::new();
    h.users.expect_find_by_id().returning(|_, _| Ok(None));
    let (users, _) = h.users();
    let updates = UserUpdates {
        display_name: Some(Some("x".to_owned())),
        email: None,
        digest: None,
    };
    let err = users
        .update_profile(&anonymous(), user_id(), updates)
        .await
        .unwrap_err();
    assert!(matches!(err, IdentityError::NotFound), "{err:?}");
}

#[tokio::test]
async fn get_reads_the_callers_tenant_only() {
    let mut h = Harness::new();
    with_user(&mut h, stored_user(USER, "ada@example.com", true));
    let (users, _) = h.users();
    assert_eq!(users.get(&anonymous(), user_id()).await.unwrap().id, user_id());
    let other = UserId(Uuid::from_u128(123));
    assert!(matches!(
        users.get(&anonymous(), other).await,
        Err(IdentityError::NotFound)
    ));
}

#[tokio::test]
async fn list_passes_the_filter_and_refuses_foreign_cursors() {
    let mut h = Harness::new();
    h.users
        .expect_list()
        .withf(|t, f, p| *t == TENANT && f.email_verified == Some(true) && p.cursor.is_none())
        .returning(|_, _, _| {
            Ok(Page {
                items: vec![stored_user(USER, "ada@example.com", true)],
                next_cursor: None,
            })
        });
    h.users
        .expect_list()
        .withf(|_, _, p| p.cursor.is_some())
        .returning(|_, _, _| Err(StoreError::Conflict("invalid cursor".into())));
    let (users, _) = h.users();
    let filter = UserFilter {
        email_verified: Some(true),
        ..UserFilter::default()
    };

    let page = users
        .list(&anonymous(), filter.clone(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);

    let bad = PageRequest::new(None, Some("bogus".into())).unwrap();
    let result = users.list(&anonymous(), filter, bad).await;
    assert_eq!(field_error(result), ("cursor".to_owned(), "invalid".to_owned()));
}

#[tokio::test]
async fn deleting_revokes_sessions_records_and_then_forgets_permissions() {
    let mut h = Harness::new();
    with_user(&mut h, stored_user(USER, "ada@example.com", true));
    // The tenant has no administrator to lose.
    h.roles.expect_list().returning(|_| Ok(Vec::new()));
    h.refresh
        .expect_revoke_user()
        .withf(|_, u, keep, _| *u == user_id() && keep.is_none())
        .times(1)
        .returning(|_, _, _, _| Ok(2));
    h.users
        .expect_delete()
        .withf(|_, t, id| *t == TENANT && *id == user_id())
        .times(1)
        .returning(|_, _, _| Ok(()));
    let committed = h.log.committed();
    // A cache outage after commit does not fail the deletion.
    h.resolver
        .expect_invalidate()
        .withf(move |u| committed() && *u == user_id())
        .times(1)
        .returning(|_| Err(AuthzError::Backend("redis down".into())));
    let (users, log) = h.users();

    users.delete(&anonymous(), user_id()).await.unwrap();

    assert_eq!(log.outcome(), TxOutcome::Committed);
    assert_eq!(log.actions(), ["user.deleted"]);
    assert_eq!(log.event_types(), ["platform.user.deleted"]);
    assert_eq!(log.audit("user.deleted").target_id, Some(user_id().to_string()));
}

#[tokio::test]
async fn deleting_a_missing_user_is_not_found_and_changes_nothing() {
    let mut h = Harness::new();
    h.users.expect_find_by_id().returning(|_, _| Ok(None));
    let (users, log) = h.users();

    let err = users.delete(&anonymous(), user_id()).await.unwrap_err();

    assert!(matches!(err, IdentityError::NotFound), "{err:?}");
    assert_eq!(log.outcome(), TxOutcome::RolledBack);
}

#[tokio::test]
async fn a_failed_delete_is_rolled_back_and_the_cache_kept() {
    let mut h = Harness::new();
    with_user(&mut h, stored_user(USER, "ada@example.com", true));
    h.roles.expect_list().returning(|_| Ok(Vec::new()));
    h.refresh.expect_revoke_user().returning(|_, _, _, _| Ok(0));
    h.users
        .expect_delete()
        .returning(|_, _, _| Err(StoreError::backend("fk violation")));
    let (users, log) = h.users();

    let err = users.delete(&anonymous(), user_id()).await.unwrap_err();

    assert!(matches!(err, IdentityError::Backend(_)), "{err:?}");
    assert_eq!(log.outcome(), TxOutcome::RolledBack);
    assert!(log.actions().is_empty());
}

#[tokio::test]
async fn the_last_administrator_is_not_deleted() {
    let mut h = Harness::new();
    with_user(&mut h, stored_user(USER, "ada@example.com", true));
    let admin = platform_ports::identity::Role {
        id: platform_ports::model::RoleId(uuid::Uuid::from_u128(9)),
        tenant_id: TENANT,
        name: "admin".to_owned(),
        description: None,
        permissions: crate::permissions::ALL.to_vec(),
        created_at: now(),
        updated_at: now(),
    };
    h.roles.expect_list().returning(move |_| Ok(vec![admin.clone()]));
    h.roles.expect_users_with_role().returning(|_, _| Ok(vec![user_id()]));
    // No expectation on the refresh tokens or the user rows: nothing is written.
    let (users, log) = h.users();

    let err = users.delete(&anonymous(), user_id()).await.unwrap_err();

    assert!(
        matches!(&err, IdentityError::Conflict(code) if code == "last_admin"),
        "{err:?}"
    );
    assert_eq!(log.outcome(), TxOutcome::RolledBack);
    assert!(log.actions().is_empty());
}
