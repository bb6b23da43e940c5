//! Mailed tokens: email verification and password reset.

use platform_ports::StoreError;
use platform_ports::auth::{VerificationPurpose, VerificationToken};
use platform_ports::identity::{IdentityError, UserService};
use platform_ports::model::{TenantId, UserId};
use platform_ports::testing::TxOutcome;

use super::*;

const USER: u128 = 42;

fn token_of(user: u128, purpose: VerificationPurpose, tenant: TenantId) -> VerificationToken {
    VerificationToken {
        token_hash: hash_of("mailed"),
        purpose,
        user_id: UserId(Uuid::from_u128(user)),
        tenant_id: tenant,
        created_at: now(),
        expires_at: now() + chrono::TimeDelta::hours(1),
        used_at: Some(now()),
    }
}

/// A store whose `consume` hands out `token` for the purpose asked.
fn consumes(h: &mut Harness, purpose: VerificationPurpose, token: Option<VerificationToken>) {
    h.verification
        .expect_consume()
        .withf(move |_, p, hash, at| *p == purpose && *hash == hash_of("mailed") && *at == now())
        .times(1)
        .returning(move |_, _, _, _| Ok(token.clone()));
}

fn finds_user(h: &mut Harness, user: User) {
    h.users
        .expect_find_by_id()
        .withf(move |t, id| *t == TENANT && *id == user.id)
        .returning(move |_, _| Ok(Some(user.clone())));
}

#[tokio::test]
async fn verifying_marks_the_user_verified() {
    let mut h = Harness::new();
    let purpose = VerificationPurpose::EmailVerification;
    consumes(&mut h, purpose, Some(token_of(USER, purpose, TENANT)));
    finds_user(&mut h, stored_user(USER, "ada@example.com", false));
    h.users
        .expect_update()
        .withf(|_, u| u.email_verified && u.updated_at == now())
        .times(1)
        .returning(|_, _| Ok(()));
    let (users, log) = h.users();

    users.verify_email(&anonymous(), &secret("mailed")).await.unwrap();

    assert_eq!(log.outcome(), TxOutcome::Committed);
    assert_eq!(log.actions(), ["user.email_verified"]);
    assert_eq!(log.event_types(), ["platform.user.updated"]);
}

#[tokio::test]
async fn an_unknown_used_or_expired_token_is_invalid() {
    let mut h = Harness::new();
    consumes(&mut h, VerificationPurpose::EmailVerification, None);
    let (users, log) = h.users();

    let err = users.verify_email(&anonymous(), &secret("mailed")).await.unwrap_err();

    assert!(matches!(err, IdentityError::InvalidToken), "{err:?}");
    assert_eq!(log.outcome(), TxOutcome::RolledBack);
    assert!(log.actions().is_empty());
}

#[tokio::test]
async fn another_tenants_token_is_invalid_here() {
    let mut h = Harness::new();
    let purpose = VerificationPurpose::EmailVerification;
    let elsewhere = TenantId(Uuid::from_u128(999));
    consumes(&mut h, purpose, Some(token_of(USER, purpose, elsewhere)));
    let (users, log) = h.users();

    let err = users.verify_email(&anonymous(), &secret("mailed")).await.unwrap_err();

    assert!(matches!(err, IdentityError::InvalidToken), "{err:?}");
    // Rolled back: the other tenant's token is not spent by a wrong call.
    assert_eq!(log.outcome(), TxOutcome::RolledBack);
}

#[tokio::test]
async fn a_reset_request_for_a_known_email_replaces_older_tokens_and_mails() {
    let mut h = Harness::new();
    let user = stored_user(USER, "ada@example.com", true);
    let id = user.id;
    h.users
        .expect_find_by_email()
        .withf(|t, e| *t == TENANT && e.as_str() == "ada@example.com")
        .returning(move |_, _| Ok(Some(user.clone())));
    h.verification
        .expect_invalidate_user()
        .withf(move |_, u, p, _| *u == id && *p == VerificationPurpose::PasswordReset)
        .times(1)
        .returning(|_, _, _, _| Ok(2));
    h.verification
        .expect_insert()
        .withf(move |_, t| {
            t.user_id == id
                && t.purpose == VerificationPurpose::PasswordReset
                && t.token_hash == hash_of(RAW_TOKEN)
                && t.expires_at == now() + chrono::TimeDelta::hours(1)
        })
        .times(1)
        .returning(|_, _| Ok(()));
    h.expect_token_mail("ada@example.com", "password_reset", |data| {
        data["link"] == "https://app.test/reset-password?token=raw-token"
    });
    let (users, log) = h.users();

    users
        .request_password_reset(&anonymous(), "  ADA@example.com")
        .await
        .unwrap();

    assert_eq!(log.outcome(), TxOutcome::Committed);
}

#[tokio::test]
async fn a_reset_request_for_an_unknown_email_answers_the_same_and_sends_nothing() {
    let mut h = Harness::new();
    h.users.expect_find_by_email().returning(|_, _| Ok(None));
    // The token is made on this path too, so both take comparable time.
    h.tokens.checkpoint();
    h.tokens.expect_generate().times(1).returning(|| secret(RAW_TOKEN));
    h.tokens.expect_hash().times(1).returning(hash_of);
    let (users, log) = h.users();

    let result = users.request_password_reset(&anonymous(), "nobody@example.com").await;

    assert!(result.is_ok(), "{result:?}");
    assert_eq!(log.begins(), 0);
}

#[tokio::test]
async fn a_reset_request_for_garbage_is_accepted_silently() {
    let (users, log) = Harness::new().users();
    assert!(
        users
            .request_password_reset(&anonymous(), "not an address")
            .await
            .is_ok()
    );
    assert_eq!(log.begins(), 0);
}

#[tokio::test]
async fn a_reset_lookup_failure_is_a_backend_error() {
    let mut h = Harness::new();
    h.users
        .expect_find_by_email()
        .returning(|_, _| Err(StoreError::backend("timeout")));
    let (users, _) = h.users();
    let err = users
        .request_password_reset(&anonymous(), "ada@example.com")
        .await
        .unwrap_err();
    assert!(matches!(err, IdentityError::Backend(_)), "{err:?}");
}

#[tokio::test]
async fn resetting_sets_the_password_and_revokes_every_session() {
    let mut h = Harness::new();
    let purpose = VerificationPurpose::PasswordReset;
    consumes(&mut h, purpose, Some(token_of(USER, purpose, TENANT)));
    finds_user(&mut h, stored_user(USER, "ada@example.com", true));
    h.users
        .expect_update()
        .withf(|_, u| u.password_hash == phc("brand new passphrase"))
        .times(1)
        .returning(|_, _| Ok(()));
    h.refresh
        .expect_revoke_user()
        .withf(|_, u, keep, at| *u == UserId(Uuid::from_u128(USER)) && keep.is_none() && *at == now())
        .times(1)
        .returning(|_, _, _, _| Ok(3));
    let (users, log) = h.users();

    users
        .reset_password(&anonymous(), &secret("mailed"), &secret("brand new passphrase"))
        .await
        .unwrap();

    assert_eq!(log.outcome(), TxOutcome::Committed);
    assert_eq!(log.actions(), ["user.password_reset"]);
    let entry = log.audit("user.password_reset");
    assert_eq!(entry.metadata["sessions_revoked"], 3);
    assert!(
        !format!("{entry:?}").contains("brand new"),
        "a password reached the audit log"
    );
}

#[tokio::test]
async fn a_short_new_password_does_not_touch_the_token() {
    let (users, log) = Harness::new().users();
    let result = users
        .reset_password(&anonymous(), &secret("mailed"), &secret("short"))
        .await;
    assert_eq!(field_error(result), ("new_password".to_owned(), "too_short".to_owned()));
    assert_eq!(log.begins(), 0);
}

#[tokio::test]
async fn a_new_password_equal_to_the_email_is_refused_and_the_token_kept() {
    let mut h = Harness::new();
    let purpose = VerificationPurpose::PasswordReset;
    consumes(&mut h, purpose, Some(token_of(USER, purpose, TENANT)));
    finds_user(&mut h, stored_user(USER, "longer.name@example.com", true));
    let (users, log) = h.users();

    let result = users
        .reset_password(&anonymous(), &secret("mailed"), &secret("Longer.Name@example.com"))
        .await;

    assert_eq!(
        field_error(result),
        ("new_password".to_owned(), "equals_email".to_owned())
    );
    // The consume is rolled back with everything else: the token still works.
    assert_eq!(log.outcome(), TxOutcome::RolledBack);
}

#[tokio::test]
async fn resetting_with_a_bad_token_is_invalid() {
    let mut h = Harness::new();
    consumes(&mut h, VerificationPurpose::PasswordReset, None);
    let (users, log) = h.users();

    let err = users
        .reset_password(&anonymous(), &secret("mailed"), &secret("brand new passphrase"))
        .await
        .unwrap_err();

    assert!(matches!(err, IdentityError::InvalidToken), "{err:?}");
    assert_eq!(log.outcome(), TxOutcome::RolledBack);
}

#[tokio::test]
async fn a_revocation_failure_rolls_the_reset_back() {
    let mut h = Harness::new();
    let purpose = VerificationPurpose::PasswordReset;
    consumes(&mut h, purpose, Some(token_of(USER, purpose, TENANT)));
    finds_user(&mut h, stored_user(USER, "ada@example.com", true));
    h.users.expect_update().returning(|_, _| Ok(()));
    h.refresh
        .expect_revoke_user()
        .returning(|_, _, _, _| Err(StoreError::backend("deadlock")));
    let (users, log) = h.users();

    let err = users
        .reset_password(&anonymous(), &secret("mailed"), &secret("brand new passphrase"))
        .await
        .unwrap_err();

    assert!(matches!(err, IdentityError::Backend(_)), "{err:?}");
    assert_eq!(log.outcome(), TxOutcome::RolledBack);
    assert!(log.actions().is_empty());
}
