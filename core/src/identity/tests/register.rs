//! Registration.

use platform_ports::StoreError;
use platform_ports::auth::VerificationPurpose;
use platform_ports::identity::{IdentityError, RegisterUser, UserService};
use platform_ports::notify::NotifyError;
use platform_ports::testing::TxOutcome;

use super::*;

fn input(email: &str, password: &str) -> RegisterUser {
    RegisterUser {
        email: email.to_owned(),
        password: secret(password),
        display_name: Some("  Ada Lovelace ".to_owned()),
    }
}

/// Registers ada@example.com with a valid password, anonymously.
async fn register_ada(users: &UserManager) -> Result<User, IdentityError> {
    users
        .register(&anonymous(), input("ada@example.com", "correct horse battery"))
        .await
}

#[tokio::test]
async fn register_writes_one_unit_of_work_then_mails_the_token() {
    let mut h = Harness::new();
    h.users
        .expect_create()
        .withf(|_, u| {
            u.email.as_str() == "ada@example.com"
                && u.tenant_id == TENANT
                && !u.email_verified
                && u.password_hash == phc("correct horse battery")
                && u.display_name.as_deref() == Some("Ada Lovelace")
        })
        .times(1)
        .returning(|_, _| Ok(()));
    h.verification
        .expect_insert()
        .withf(|_, t| {
            t.purpose == VerificationPurpose::EmailVerification
                && t.token_hash == hash_of(RAW_TOKEN)
                && t.tenant_id == TENANT
                && t.used_at.is_none()
                && t.expires_at == now() + chrono::TimeDelta::hours(24)
        })
        .times(1)
        .returning(|_, _| Ok(()));
    h.expect_token_mail("ada@example.com", "email_verification", |data| {
        data["link"] == "https://app.test/verify-email?token=raw-token" && data["email"] == "ada@example.com"
    });
    let (users, log) = h.users();

    let user = users
        .register(&anonymous(), input(" Ada@Example.com ", "correct horse battery"))
        .await
        .unwrap();

    assert_eq!(user.email.as_str(), "ada@example.com");
    assert_eq!(log.outcome(), TxOutcome::Committed);
    assert_eq!(log.begins(), 1);
    assert_eq!(log.actions(), ["user.created"]);
    let entry = log.audit("user.created");
    assert_eq!(entry.target_id, Some(user.id.to_string()));
    assert_eq!(entry.tenant_id, TENANT);
    assert!(
        !format!("{entry:?}").contains("correct horse"),
        "a password reached the audit log"
    );
    assert_eq!(log.event_types(), ["platform.user.created"]);
    let event = log.event("platform.user.created");
    assert_eq!(event.data["email"], "ada@example.com");
    assert_eq!(event.data["id"], user.id.to_string());
    assert_eq!(event.aggregate_id, Some(user.id.to_string()));
}

#[tokio::test]
async fn a_taken_email_is_a_conflict_and_nothing_is_mailed() {
    let mut h = Harness::new();
    h.users
        .expect_create()
        .returning(|_, _| Err(StoreError::Conflict("email".into())));
    let (users, log) = h.users();

    let err = register_ada(&users).await.unwrap_err();

    assert!(
        matches!(&err, IdentityError::Conflict(c) if c == "email_taken"),
        "{err:?}"
    );
    assert_eq!(log.outcome(), TxOutcome::RolledBack);
}

#[tokio::test]
async fn a_repository_failure_is_a_backend_error_and_rolls_back() {
    let mut h = Harness::new();
    h.users.expect_create().returning(|_, _| Ok(()));
    h.verification
        .expect_insert()
        .returning(|_, _| Err(StoreError::backend("connection reset")));
    let (users, log) = h.users();

    let err = register_ada(&users).await.unwrap_err();

    assert!(matches!(err, IdentityError::Backend(_)), "{err:?}");
    assert_eq!(log.outcome(), TxOutcome::RolledBack);
}

#[tokio::test]
async fn an_audit_failure_rolls_back_the_user_too() {
    let mut h = Harness::new();
    h.users.expect_create().returning(|_, _| Ok(()));
    h.verification.expect_insert().returning(|_, _| Ok(()));
    h.audit.checkpoint();
    h.audit
        .expect_append()
        .returning(|_, _| Err(StoreError::backend("audit table locked")));
    let (users, log) = h.users();

    let err = register_ada(&users).await.unwrap_err();

    assert!(matches!(err, IdentityError::Backend(_)), "{err:?}");
    assert_eq!(log.outcome(), TxOutcome::RolledBack);
    assert!(log.event_types().is_empty());
}

#[tokio::test]
async fn weak_passwords_are_refused_before_any_work() {
    for (password, code) in [("too short", "too_short"), ("Bob.Builder@Example.com", "equals_email")] {
        let mut h = Harness::new();
        h.hasher.checkpoint();
        let (users, log) = h.users();
        let result = users
            .register(&anonymous(), input("bob.builder@example.com", password))
            .await;
        assert_eq!(field_error(result), ("password".to_owned(), code.to_owned()));
        assert_eq!(log.begins(), 0);
    }
}

#[tokio::test]
async fn every_invalid_field_is_reported_at_once() {
    let (users, log) = Harness::new().users();
    let mut bad = input("not-an-email", "short");
    bad.display_name = Some("x".repeat(101));

    let Err(IdentityError::Validation(errors)) = users.register(&anonymous(), bad).await else {
        panic!("expected a validation error")
    };

    let fields: Vec<(&str, &str)> = errors.0.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
    assert_eq!(
        fields,
        [
            ("email", "invalid"),
            ("password", "too_short"),
            ("display_name", "too_long")
        ]
    );
    assert_eq!(log.begins(), 0);
}

#[tokio::test]
async fn a_mail_failure_does_not_undo_the_registration() {
    let mut h = Harness::new();
    h.users.expect_create().returning(|_, _| Ok(()));
    h.verification.expect_insert().returning(|_, _| Ok(()));
    h.notifier
        .expect_send_email_with_template()
        .times(1)
        .returning(|_, _, _| Err(NotifyError::Backend("queue closed".into())));
    let (users, log) = h.users();

    let user = register_ada(&users).await;

    assert!(user.is_ok(), "{user:?}");
    assert_eq!(log.outcome(), TxOutcome::Committed);
}
