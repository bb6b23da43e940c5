//! Single-use verification tokens: purpose, expiry, supersession.

use std::sync::Arc;

use chrono::TimeDelta;
use platform_ports::StoreError;
use platform_ports::auth::VerificationPurpose;
use platform_ports::auth::VerificationTokenStore;
use platform_ports::model::UserId;
use platform_ports::persistence::UnitOfWork;

use crate::fixtures::{committed, now, tenant, token_hash, verification_token};

/// A verification token works once, for its purpose only, before it expires;
/// a consumption that is rolled back did not happen.
pub async fn verification_token_single_use(verification: Arc<dyn VerificationTokenStore>, uow: Arc<dyn UnitOfWork>) {
    use VerificationPurpose::{EmailVerification, PasswordReset};
    let t = tenant();
    let token = verification_token(UserId::new(), t, EmailVerification, TimeDelta::hours(1));
    committed(&*uow, async |tx| verification.insert(tx, &token).await)
        .await
        .unwrap();
    let dup = committed(&*uow, async |tx| verification.insert(tx, &token).await).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");

    let hash = &token.token_hash;
    let wrong = committed(&*uow, async |tx| {
        verification.consume(tx, PasswordReset, hash, now()).await
    })
    .await
    .unwrap();
    assert_eq!(wrong, None, "consumed for the wrong purpose");

    let mut tx = uow.begin().await.unwrap();
    assert!(
        verification
            .consume(&mut tx, EmailVerification, hash, now())
            .await
            .unwrap()
            .is_some()
    );
    tx.rollback().await.unwrap();

    let at = now();
    let used = committed(&*uow, async |tx| {
        let first = verification.consume(tx, EmailVerification, hash, at).await?;
        // The same unit of work sees its own consumption.
        assert_eq!(verification.consume(tx, EmailVerification, hash, at).await?, None);
        Ok(first)
    })
    .await
    .unwrap()
    .expect("the token is unused");
    assert_eq!(used.used_at, Some(at));
    assert_eq!((&used.token_hash, used.user_id), (&token.token_hash, token.user_id));
    let again = committed(&*uow, async |tx| {
        verification.consume(tx, EmailVerification, hash, now()).await
    })
    .await
    .unwrap();
    assert_eq!(again, None, "a used token worked twice");
    let unknown = committed(&*uow, async |tx| {
        verification.consume(tx, EmailVerification, &token_hash(), now()).await
    })
    .await
    .unwrap();
    assert_eq!(unknown, None);
}

/// An expired verification token never works; `delete_expired` removes it.
pub async fn verification_token_expiry(verification: Arc<dyn VerificationTokenStore>, uow: Arc<dyn UnitOfWork>) {
    let purpose = VerificationPurpose::PasswordReset;
    let token = verification_token(UserId::new(), tenant(), purpose, TimeDelta::minutes(30));
    committed(&*uow, async |tx| verification.insert(tx, &token).await)
        .await
        .unwrap();
    let hash = &token.token_hash;
    let late = token.expires_at + TimeDelta::seconds(1);
    assert_eq!(
        committed(&*uow, async |tx| verification.consume(tx, purpose, hash, late).await)
            .await
            .unwrap(),
        None
    );
    let on_time = token.expires_at - TimeDelta::seconds(1);
    assert!(
        committed(&*uow, async |tx| verification.consume(tx, purpose, hash, on_time).await)
            .await
            .unwrap()
            .is_some()
    );

    let stale = verification_token(UserId::new(), tenant(), purpose, TimeDelta::hours(-3));
    committed(&*uow, async |tx| verification.insert(tx, &stale).await)
        .await
        .unwrap();
    assert!(verification.delete_expired(now() - TimeDelta::hours(1)).await.unwrap() >= 1);
    // Deleted, so its hash can be issued again.
    committed(&*uow, async |tx| verification.insert(tx, &stale).await)
        .await
        .unwrap();
}

/// A new token supersedes the user's unused ones of the same purpose only.
pub async fn verification_invalidate_user(verification: Arc<dyn VerificationTokenStore>, uow: Arc<dyn UnitOfWork>) {
    use VerificationPurpose::{EmailVerification, PasswordReset};
    let t = tenant();
    let user = UserId::new();
    let old = verification_token(user, t, EmailVerification, TimeDelta::hours(1));
    let older = verification_token(user, t, EmailVerification, TimeDelta::hours(1));
    let reset = verification_token(user, t, PasswordReset, TimeDelta::hours(1));
    let theirs = verification_token(UserId::new(), t, EmailVerification, TimeDelta::hours(1));
    committed(&*uow, async |tx| {
        for token in [&old, &older, &reset, &theirs] {
            verification.insert(tx, token).await?;
        }
        Ok(())
    })
    .await
    .unwrap();

    let count = committed(&*uow, async |tx| {
        verification.invalidate_user(tx, user, EmailVerification, now()).await
    })
    .await
    .unwrap();
    assert_eq!(count, 2);
    for (token, works) in [(&old, false), (&older, false), (&reset, true), (&theirs, true)] {
        let consumed = committed(&*uow, async |tx| {
            verification.consume(tx, token.purpose, &token.token_hash, now()).await
        })
        .await
        .unwrap();
        assert_eq!(consumed.is_some(), works, "{:?} of {}", token.purpose, token.user_id);
    }
    let none_left = committed(&*uow, async |tx| {
        verification.invalidate_user(tx, user, EmailVerification, now()).await
    })
    .await
    .unwrap();
    assert_eq!(none_left, 0);
}
