//! Changing a password with the old one.

use platform_ports::StoreError;
use platform_ports::identity::HashError;
use platform_ports::identity::{IdentityError, UserService};
use platform_ports::model::{RequestContext, TokenFamilyId};
use platform_ports::testing::TxOutcome;

use super::*;

const USER: u128 = 7;

fn user_id() -> UserId {
    UserId(Uuid::from_u128(USER))
}

fn session() -> TokenFamilyId {
    TokenFamilyId(Uuid::from_u128(0x5e55))
}

/// Changes the user's password, given the right old one, to `new` as `caller`.
async fn change_to(users: &UserManager, caller: &RequestContext, new: &str) -> Result<(), IdentityError> {
    users
        .change_password(caller, user_id(), &secret("old password 123"), &secret(new))
        .await
}

/// Harness with the user stored and the old password checked as `old_ok`.
fn harness(old_ok: bool) -> Harness {
    let mut h = Harness::new();
    let user = stored_user(USER, "ada@example.com", true);
    h.users
        .expect_find_by_id()
        .returning(move |_, _| Ok(Some(user.clone())));
    h.hasher
        .expect_verify()
        .withf(|p, hash| p.expose() == "old password 123" && *hash == phc("old password 123"))
        .returning(move |p, _| Ok(old_ok && p.expose() == "old password 123"));
    h
}

#[tokio::test]
async fn changing_keeps_the_current_session_and_ends_the_others() {
    let mut h = harness(true);
    h.users
        .expect_update()
        .withf(|_, u| u.password_hash == phc("a new passphrase!") && u.updated_at == now())
        .times(1)
        .returning(|_, _| Ok(()));
    h.refresh
        .expect_revoke_user()
        .withf(|_, u, keep, _| *u == user_id() && *keep == Some(session()))
        .times(1)
        .returning(|_, _, _, _| Ok(1));
    let (users, log) = h.users();

    change_to(&users, &as_user(user_id(), Some(session())), "a new passphrase!")
        .await
        .unwrap();

    assert_eq!(log.outcome(), TxOutcome::Committed);
    assert_eq!(log.actions(), ["user.password_changed"]);
    assert_eq!(log.audit("user.password_changed").actor_id, Some(user_id()));
    assert_eq!(log.event_types(), ["platform.user.updated"]);
    assert_eq!(
        log.event("platform.user.updated").data["fields"],
        serde_json::json!(["password"])
    );
}

#[tokio::test]
async fn someone_elses_change_keeps_none_of_the_owners_sessions() {
    let mut h = harness(true);
    h.users.expect_update().returning(|_, _| Ok(()));
    h.refresh
        .expect_revoke_user()
        .withf(|_, u, keep, _| *u == user_id() && keep.is_none())
        .times(1)
        .returning(|_, _, _, _| Ok(1));
    let (users, _) = h.users();
    let admin = as_user(UserId(Uuid::from_u128(1)), Some(session()));

    change_to(&users, &admin, "a new passphrase!").await.unwrap();
}

#[tokio::test]
async fn a_wrong_old_password_is_invalid_credentials() {
    let (users, log) = harness(false).users();

    let err = change_to(&users, &as_user(user_id(), None), "a new passphrase!")
        .await
        .unwrap_err();

    assert!(matches!(err, IdentityError::InvalidCredentials), "{err:?}");
    assert_eq!(log.begins(), 0);
}

#[tokio::test]
async fn a_weak_new_password_is_refused() {
    for (new, code) in [("2short", "too_short"), ("ADA@example.com", "equals_email")] {
        let (users, log) = harness(true).users();
        let result = change_to(&users, &as_user(user_id(), None), new).await;
        assert_eq!(field_error(result), ("new_password".to_owned(), code.to_owned()));
        assert_eq!(log.begins(), 0);
    }
}

#[tokio::test]
async fn a_hasher_outage_is_a_backend_error() {
    let mut h = harness(true);
    h.hasher.checkpoint();
    h.hasher
        .expect_verify()
        .returning(|_, _| Err(HashError::Unavailable("pool saturated".into())));
    let (users, _) = h.users();

    let err = change_to(&users, &as_user(user_id(), None), "a new passphrase!")
        .await
        .unwrap_err();

    assert!(matches!(err, IdentityError::Backend(_)), "{err:?}");
}

#[tokio::test]
async fn an_update_failure_rolls_back() {
    let mut h = harness(true);
    h.users
        .expect_update()
        .returning(|_, _| Err(StoreError::backend("disk full")));
    let (users, log) = h.users();

    let err = change_to(&users, &as_user(user_id(), None), "a new passphrase!")
        .await
        .unwrap_err();

    assert!(matches!(err, IdentityError::Backend(_)), "{err:?}");
    assert_eq!(log.outcome(), TxOutcome::RolledBack);
}
