use std::sync::{Arc, Mutex};

use platform_ports::StoreError;
use platform_ports::auth::{AccessClaims, RefreshTokenRecord, TokenHash};
use platform_ports::auth::{AuthError, Authenticator, Credentials};
use platform_ports::identity::HashError;
use platform_ports::model::SecretString;
use platform_ports::testing::TxOutcome;

use super::*;
use crate::auth::{LOGIN_FAILED, LOGIN_SUCCEEDED};

fn credentials(email: &str, password: &str) -> Credentials {
    Credentials {
        email: email.into(),
        password: SecretString::new(password),
        tenant_id: tenant(),
    }
}

/// The user exists and `password` is (or is not) theirs.
fn known_user(h: &mut Harness, account: &User, password_ok: bool) {
    let found = account.clone();
    h.users
        .expect_find_by_email()
        .withf(|t, email| *t == tenant() && email.as_str() == "ada@example.com")
        .returning(move |_, _| Ok(Some(found.clone())));
    h.hasher
        .expect_verify()
        .withf(|password, hash| password.expose() == "correct horse battery" && hash.0 == "$argon2id$v=19$stored")
        .returning(move |_, _| Ok(password_ok));
    h.hasher.expect_verify_dummy().never();
}

/// Expects exactly one `auth.login.failed` entry, checked by `check`.
fn expect_failure_audit(h: &mut Harness, check: impl Fn(&platform_ports::audit::AuditEntry) -> bool + Send + 'static) {
    h.audit
        .expect_append()
        .withf(move |_, entry| entry.action == LOGIN_FAILED && entry.tenant_id == tenant() && check(entry))
        .times(1)
        .returning(|_, _| Ok(()));
    h.tokens.expect_insert().never();
    h.codec.expect_encode().never();
}

/// Logs in with `email` and `password` on the service built from `h`,
/// expecting a refusal: the error, and the transaction to inspect.
async fn refused_login(h: Harness, email: &str, password: &str) -> (AuthError, FakeTx) {
    let (service, tx, _) = h.build();
    let err = service.login(&ctx(), credentials(email, password)).await.unwrap_err();
    (err, tx)
}

#[tokio::test]
async fn login_opens_a_session_and_returns_a_token_pair() {
    let mut h = Harness::new();
    let account = user(false);
    known_user(&mut h, &account, true);
    h.with_roles(&["editor", "viewer"]);
    let now = h.now();

    let stored: Arc<Mutex<Option<RefreshTokenRecord>>> = Arc::default();
    let sink = Arc::clone(&stored);
    h.tokens.expect_insert().times(1).returning(move |_, record| {
        *sink.lock().unwrap() = Some(record.clone());
        Ok(())
    });
    let id = account.id;
    h.audit
        .expect_append()
        .withf(move |_, e| {
            e.action == LOGIN_SUCCEEDED
                && e.actor_id == Some(id)
                && e.target_id == Some(id.to_string())
                && e.request_id.as_deref() == Some("req-1")
                && e.metadata["email"] == "ada@example.com"
        })
        .times(1)
        .returning(|_, _| Ok(()));
    let signed: Arc<Mutex<Option<AccessClaims>>> = Arc::default();
    let claims_sink = Arc::clone(&signed);
    h.codec.expect_encode().times(1).returning(move |claims| {
        *claims_sink.lock().unwrap() = Some(claims.clone());
        Ok("access-token".to_owned())
    });
    let (service, tx, _) = h.build();

    let pair = service
        .login(&ctx(), credentials("  Ada@Example.COM ", "correct horse battery"))
        .await
        .unwrap();

    assert_eq!(pair.access_token, "access-token");
    assert_eq!(pair.refresh_token, NEW_REFRESH);
    assert_eq!(pair.token_type, "Bearer");
    assert_eq!(pair.expires_in, 900);
    assert_eq!(tx.outcome(), TxOutcome::Committed);

    let record = stored.lock().unwrap().clone().unwrap();
    assert_ne!(
        record.token_hash,
        TokenHash(NEW_REFRESH.into()),
        "token stored in clear"
    );
    assert_eq!(record.token_hash, hashed(NEW_REFRESH));
    assert_eq!(record.user_id, account.id);
    assert_eq!(record.tenant_id, tenant());
    assert_eq!(record.expires_at, now + chrono::Duration::seconds(REFRESH_TTL));
    assert!(record.rotated_at.is_none() && record.revoked_at.is_none());

    let claims = signed.lock().unwrap().clone().unwrap();
    assert_eq!(claims.sub, account.id);
    assert_eq!(claims.roles, ["editor", "viewer"]);
    assert_eq!(claims.tenant_id, tenant());
    assert_eq!(claims.iat, now.timestamp());
    assert_eq!(claims.exp, now.timestamp() + ACCESS_TTL);
    assert_eq!((claims.iss.as_str(), claims.aud.as_str()), ("platform", "platform-api"));
    assert_eq!(claims.sid, Some(record.family_id));
    assert_eq!(uuid::Uuid::parse_str(&claims.jti).unwrap().get_version_num(), 7);
}

#[tokio::test]
async fn unknown_email_spends_a_dummy_verification_and_is_audited() {
    let mut h = Harness::new();
    h.users.expect_find_by_email().times(1).returning(|_, _| Ok(None));
    h.hasher.expect_verify_dummy().times(1).returning(|_| Ok(()));
    h.hasher.expect_verify().never();
    expect_failure_audit(&mut h, |e| {
        e.actor_id.is_none() && e.metadata["email"] == "ada@example.com"
    });

    let (err, tx) = refused_login(h, "ada@example.com", "whatever it is").await;

    assert!(matches!(err, AuthError::InvalidCredentials), "{err:?}");
    assert_eq!(tx.outcome(), TxOutcome::Committed, "failure entry not committed");
}

#[tokio::test]
async fn malformed_email_is_refused_like_an_unknown_one() {
    let mut h = Harness::new();
    h.users.expect_find_by_email().never();
    h.hasher.expect_verify_dummy().times(1).returning(|_| Ok(()));
    // The raw input is not recorded: it may be a mistyped password.
    expect_failure_audit(&mut h, |e| e.actor_id.is_none() && e.metadata["email"].is_null());

    let (err, _) = refused_login(h, "not an address", "whatever it is").await;

    assert!(matches!(err, AuthError::InvalidCredentials), "{err:?}");
}

#[tokio::test]
async fn wrong_password_is_invalid_credentials_and_audited_against_the_user() {
    let mut h = Harness::new();
    let account = user(true);
    let id = account.id;
    h.users
        .expect_find_by_email()
        .returning(move |_, _| Ok(Some(account.clone())));
    h.hasher.expect_verify().times(1).returning(|_, _| Ok(false));
    h.hasher.expect_verify_dummy().never();
    expect_failure_audit(&mut h, move |e| {
        e.actor_id == Some(id) && e.metadata["reason"] == "wrong_password"
    });

    let (err, tx) = refused_login(h, "ada@example.com", "wrong").await;

    assert!(matches!(err, AuthError::InvalidCredentials), "{err:?}");
    assert_eq!(tx.outcome(), TxOutcome::Committed);
}

#[tokio::test]
async fn malformed_stored_hash_is_refused_like_a_wrong_password() {
    let mut h = Harness::new();
    let account = user(true);
    h.users
        .expect_find_by_email()
        .returning(move |_, _| Ok(Some(account.clone())));
    h.hasher.expect_verify().returning(|_, _| Err(HashError::Malformed));
    expect_failure_audit(&mut h, |_| true);

    let (err, _) = refused_login(h, "ada@example.com", "anything").await;

    assert!(matches!(err, AuthError::InvalidCredentials), "{err:?}");
}

#[tokio::test]
async fn unverified_email_is_refused_when_required_after_the_password_check() {
    let mut h = Harness::new();
    h.settings.require_verified_email = true;
    let account = user(false);
    known_user(&mut h, &account, true);
    expect_failure_audit(&mut h, |e| e.metadata["reason"] == "email_not_verified");

    let (err, _) = refused_login(h, "ada@example.com", "correct horse battery").await;

    assert!(matches!(err, AuthError::EmailNotVerified), "{err:?}");
}

#[tokio::test]
async fn unverified_email_with_a_wrong_password_is_invalid_credentials() {
    let mut h = Harness::new();
    h.settings.require_verified_email = true;
    let account = user(false);
    known_user(&mut h, &account, false);
    expect_failure_audit(&mut h, |e| e.metadata["reason"] == "wrong_password");

    let (err, _) = refused_login(h, "ada@example.com", "correct horse battery").await;

    assert!(matches!(err, AuthError::InvalidCredentials), "{err:?}");
}

#[tokio::test]
async fn repository_error_is_backend_and_nothing_is_committed() {
    let mut h = Harness::new();
    let account = user(true);
    known_user(&mut h, &account, true);
    h.with_roles(&[]);
    h.tokens
        .expect_insert()
        .returning(|_, _| Err(StoreError::backend("connection reset")));
    h.audit.expect_append().never();
    h.codec.expect_encode().never();

    let (err, tx) = refused_login(h, "ada@example.com", "correct horse battery").await;

    assert!(matches!(err, AuthError::Backend(_)), "{err:?}");
    assert_ne!(tx.outcome(), TxOutcome::Committed);
}

#[tokio::test]
async fn failing_user_lookup_is_backend() {
    let mut h = Harness::new();
    h.users
        .expect_find_by_email()
        .returning(|_, _| Err(StoreError::backend("down")));
    h.hasher.expect_verify_dummy().never();
    h.audit.expect_append().never();

    let (err, _) = refused_login(h, "ada@example.com", "x").await;

    assert!(matches!(err, AuthError::Backend(_)), "{err:?}");
}

#[tokio::test]
async fn signing_failure_leaves_no_session_behind() {
    let mut h = Harness::new();
    let account = user(true);
    known_user(&mut h, &account, true);
    h.with_roles(&[]);
    h.tokens.expect_insert().returning(|_, _| Ok(()));
    h.audit.expect_append().returning(|_, _| Ok(()));
    h.codec
        .expect_encode()
        .returning(|_| Err(platform_ports::auth::TokenError::Signing("no key".into())));

    let (err, tx) = refused_login(h, "ada@example.com", "correct horse battery").await;

    assert!(matches!(err, AuthError::Backend(_)), "{err:?}");
    assert_eq!(tx.outcome(), TxOutcome::RolledBack);
}
