use std::sync::{Arc, Mutex};

use chrono::Duration as Delta;
use platform_ports::StoreError;
use platform_ports::auth::RefreshTokenRecord;
use platform_ports::auth::{AuthError, Authenticator};
use platform_ports::model::{RefreshTokenId, SecretString};
use platform_ports::testing::TxOutcome;

use super::*;
use crate::auth::{LOGOUT, REFRESH_TOKEN_REUSED};

const OLD: &str = "refresh-old";

/// What the store holds for the presented token, given its owner and now.
type Stored = fn(&User, DateTime<Utc>) -> Option<RefreshTokenRecord>;

fn token(value: &str) -> SecretString {
    SecretString::new(value)
}

/// `find_for_update` of `OLD`'s hash answers `found`.
fn presented(h: &mut Harness, found: Option<RefreshTokenRecord>) {
    h.tokens
        .expect_find_for_update()
        .withf(|_, hash| *hash == hashed(OLD))
        .times(1)
        .returning(move |_, _| Ok(found.clone()));
}

/// The owner still exists with one role, and tokens get signed.
fn owner_exists(h: &mut Harness, owner: &User) {
    let found = owner.clone();
    h.users
        .expect_find_by_id()
        .withf(|t, _| *t == tenant())
        .returning(move |_, _| Ok(Some(found.clone())));
    h.with_roles(&["editor"]);
    h.signing();
}

/// Nothing may be written.
fn no_writes(h: &mut Harness) {
    h.tokens.expect_insert().never();
    h.tokens.expect_mark_rotated().never();
    h.tokens.expect_revoke_family().never();
    h.audit.expect_append().never();
}

/// A record of `OLD` rotated `ago` seconds before now into `next`.
fn rotated(owner: &User, now: DateTime<Utc>, ago: i64, next: &RefreshTokenRecord) -> RefreshTokenRecord {
    RefreshTokenRecord {
        rotated_at: Some(now - Delta::seconds(ago)),
        replaced_by: Some(next.id),
        family_id: next.family_id,
        ..record(OLD, owner, now)
    }
}

/// The live successor of `OLD`.
fn successor_record(owner: &User, now: DateTime<Utc>) -> RefreshTokenRecord {
    record(&successor_of(OLD), owner, now)
}

/// Presents `OLD` to the service built from `h`, expecting a refusal: the
/// error, and the transaction to inspect.
async fn refused_refresh(h: Harness) -> (AuthError, FakeTx) {
    let (service, tx, _) = h.build();
    let err = service.refresh(&ctx(), &token(OLD)).await.unwrap_err();
    (err, tx)
}

#[tokio::test]
async fn refresh_rotates_into_the_successor_of_the_same_family() {
    let mut h = Harness::new();
    let owner = user(true);
    let now = h.now();
    let current = record(OLD, &owner, now);
    presented(&mut h, Some(current.clone()));
    owner_exists(&mut h, &owner);

    let inserted: Arc<Mutex<Option<RefreshTokenRecord>>> = Arc::default();
    let sink = Arc::clone(&inserted);
    let family = current.family_id;
    h.tokens
        .expect_insert()
        .withf(move |_, next| {
            next.family_id == family
                && next.token_hash == hashed(&successor_of(OLD))
                && next.expires_at == now + Delta::seconds(REFRESH_TTL)
                && next.rotated_at.is_none()
        })
        .times(1)
        .returning(move |_, next| {
            *sink.lock().unwrap() = Some(next.clone());
            Ok(())
        });
    let seen = Arc::clone(&inserted);
    let old_id = current.id;
    h.tokens
        .expect_mark_rotated()
        .withf(move |_, id, successor, at| {
            let next = seen.lock().unwrap().as_ref().map(|r| r.id);
            *id == old_id && Some(*successor) == next && *at == now
        })
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    h.tokens.expect_revoke_family().never();
    let (service, tx, _) = h.build();

    let pair = service.refresh(&ctx(), &token(OLD)).await.unwrap();

    assert_eq!(pair.refresh_token, successor_of(OLD));
    assert_eq!(pair.access_token, "access-token");
    assert_eq!(tx.outcome(), TxOutcome::Committed);
}

#[tokio::test]
async fn reuse_after_the_grace_window_revokes_the_family_and_commits() {
    let mut h = Harness::new();
    let owner = user(true);
    let now = h.now();
    let next = successor_record(&owner, now);
    let current = rotated(&owner, now, GRACE + 1, &next);
    presented(&mut h, Some(current.clone()));
    let family = current.family_id;
    h.tokens
        .expect_revoke_family()
        .withf(move |_, f, at| *f == family && *at == now)
        .times(1)
        .returning(|_, _, _| Ok(2));
    let owner_id = owner.id;
    h.audit
        .expect_append()
        .withf(move |_, e| {
            e.action == REFRESH_TOKEN_REUSED
                && e.actor_id == Some(owner_id)
                && e.tenant_id == tenant()
                && e.metadata["family_id"] == family.to_string()
        })
        .times(1)
        .returning(|_, _| Ok(()));
    h.tokens.expect_insert().never();
    h.tokens.expect_mark_rotated().never();
    h.codec.expect_encode().never();

    let (err, tx) = refused_refresh(h).await;

    assert!(matches!(err, AuthError::InvalidToken(None)), "{err:?}");
    assert_eq!(tx.outcome(), TxOutcome::Committed, "revocation must persist");
}

#[tokio::test]
async fn reuse_within_the_grace_window_returns_the_same_successor() {
    let mut h = Harness::new();
    let owner = user(true);
    let now = h.now();
    let next = successor_record(&owner, now);
    let current = rotated(&owner, now, GRACE - 3, &next);
    presented(&mut h, Some(current));
    let next_id = next.id;
    h.tokens
        .expect_find_by_id()
        .withf(move |_, id| *id == next_id)
        .returning(move |_, _| Ok(Some(next.clone())));
    owner_exists(&mut h, &owner);
    no_writes(&mut h);
    let (service, tx, _) = h.build();

    let pair = service.refresh(&ctx(), &token(OLD)).await.unwrap();

    assert_eq!(pair.refresh_token, successor_of(OLD));
    assert_eq!(tx.outcome(), TxOutcome::Committed);
}

#[tokio::test]
async fn reuse_within_the_grace_window_of_a_used_successor_revokes_the_family() {
    let mut h = Harness::new();
    let owner = user(true);
    let now = h.now();
    let next = RefreshTokenRecord {
        rotated_at: Some(now - Delta::seconds(1)),
        replaced_by: Some(RefreshTokenId::new()),
        ..successor_record(&owner, now)
    };
    let current = rotated(&owner, now, 2, &next);
    presented(&mut h, Some(current));
    h.tokens
        .expect_find_by_id()
        .returning(move |_, _| Ok(Some(next.clone())));
    h.tokens.expect_revoke_family().times(1).returning(|_, _, _| Ok(1));
    h.audit.expect_append().times(1).returning(|_, _| Ok(()));

    let (err, tx) = refused_refresh(h).await;

    assert!(matches!(err, AuthError::InvalidToken(None)), "{err:?}");
    assert_eq!(tx.outcome(), TxOutcome::Committed);
}

#[tokio::test]
async fn successor_derived_with_another_key_is_refused_without_revoking() {
    let mut h = Harness::new();
    let owner = user(true);
    let now = h.now();
    let next = RefreshTokenRecord {
        token_hash: hashed("made with the previous key"),
        ..successor_record(&owner, now)
    };
    let current = rotated(&owner, now, 1, &next);
    presented(&mut h, Some(current));
    h.tokens
        .expect_find_by_id()
        .returning(move |_, _| Ok(Some(next.clone())));
    no_writes(&mut h);
    h.codec.expect_encode().never();

    let (err, tx) = refused_refresh(h).await;

    assert!(matches!(err, AuthError::InvalidToken(None)), "{err:?}");
    assert_ne!(tx.outcome(), TxOutcome::Committed);
}

#[tokio::test]
async fn unknown_revoked_and_expired_tokens_are_rejected_without_writes() {
    let owner = user(true);
    let cases: [(&str, Stored); 3] = [
        ("unknown", |_, _| None),
        ("revoked", |owner, now| {
            Some(RefreshTokenRecord {
                revoked_at: Some(now - Delta::minutes(1)),
                ..record(OLD, owner, now)
            })
        }),
        ("expired", |owner, now| {
            Some(RefreshTokenRecord {
                expires_at: now,
                ..record(OLD, owner, now)
            })
        }),
    ];
    for (case, found) in cases {
        let mut h = Harness::new();
        let now = h.now();
        presented(&mut h, found(&owner, now));
        no_writes(&mut h);
        h.codec.expect_encode().never();

        let (err, tx) = refused_refresh(h).await;

        assert!(matches!(err, AuthError::InvalidToken(None)), "{case}: {err:?}");
        assert_ne!(tx.outcome(), TxOutcome::Committed, "{case}");
    }
}

#[tokio::test]
async fn refresh_of_a_deleted_user_is_rejected_and_rolled_back() {
    let mut h = Harness::new();
    let owner = user(true);
    let now = h.now();
    presented(&mut h, Some(record(OLD, &owner, now)));
    h.tokens.expect_insert().returning(|_, _| Ok(()));
    h.tokens.expect_mark_rotated().returning(|_, _, _, _| Ok(()));
    h.users.expect_find_by_id().returning(|_, _| Ok(None));
    h.codec.expect_encode().never();

    let (err, tx) = refused_refresh(h).await;

    assert!(matches!(err, AuthError::InvalidToken(None)), "{err:?}");
    assert_eq!(tx.outcome(), TxOutcome::RolledBack);
}

#[tokio::test]
async fn store_error_during_refresh_is_backend_and_not_committed() {
    let mut h = Harness::new();
    let owner = user(true);
    let now = h.now();
    presented(&mut h, Some(record(OLD, &owner, now)));
    h.tokens.expect_insert().returning(|_, _| Ok(()));
    h.tokens
        .expect_mark_rotated()
        .returning(|_, _, _, _| Err(StoreError::backend("disk full")));
    h.codec.expect_encode().never();

    let (err, tx) = refused_refresh(h).await;

    assert!(matches!(err, AuthError::Backend(_)), "{err:?}");
    assert_eq!(tx.outcome(), TxOutcome::RolledBack);
}

#[tokio::test]
async fn logout_revokes_the_family_and_is_audited() {
    let mut h = Harness::new();
    let owner = user(true);
    let now = h.now();
    let current = record(OLD, &owner, now);
    let family = current.family_id;
    presented(&mut h, Some(current));
    h.tokens
        .expect_revoke_family()
        .withf(move |_, f, at| *f == family && *at == now)
        .times(1)
        .returning(|_, _, _| Ok(1));
    let owner_id = owner.id;
    h.audit
        .expect_append()
        .withf(move |_, e| e.action == LOGOUT && e.actor_id == Some(owner_id))
        .times(1)
        .returning(|_, _| Ok(()));
    let (service, tx, _) = h.build();

    service.logout(&ctx(), &token(OLD)).await.unwrap();

    assert_eq!(tx.outcome(), TxOutcome::Committed);
}

#[tokio::test]
async fn logout_with_an_unknown_or_revoked_token_is_invalid() {
    let owner = user(true);
    for revoked in [false, true] {
        let mut h = Harness::new();
        let now = h.now();
        let found = revoked.then(|| RefreshTokenRecord {
            revoked_at: Some(now),
            ..record(OLD, &owner, now)
        });
        presented(&mut h, found);
        no_writes(&mut h);
        let (service, _, _) = h.build();

        let err = service.logout(&ctx(), &token(OLD)).await.unwrap_err();

        assert!(matches!(err, AuthError::InvalidToken(None)), "{err:?}");
    }
}
