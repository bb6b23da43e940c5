use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

use platform_ports::auth::AccessClaims;
use platform_ports::auth::TokenError;
use platform_ports::auth::{AuthError, Authenticator};

use super::*;

fn claims(exp: i64) -> AccessClaims {
    AccessClaims {
        sub: UserId::new(),
        roles: vec!["editor".into()],
        tenant_id: tenant(),
        exp,
        iat: exp - ACCESS_TTL,
        jti: Uuid::now_v7().to_string(),
        iss: "platform".into(),
        aud: "platform-api".into(),
        sid: None,
    }
}

#[test]
fn verified_claims_are_remembered_until_they_expire() {
    let mut h = Harness::new();
    let exp = h.now().timestamp() + 60;
    h.codec
        .expect_decode()
        .withf(|token| token == "token-a")
        .times(1)
        .returning(move |_| Ok(claims(exp)));
    let (service, _, _) = h.build();

    let first = service.verify_token("token-a").unwrap();
    let second = service.verify_token("token-a").unwrap();

    assert!(Arc::ptr_eq(&first, &second), "second verification decoded again");
    assert_eq!(first.exp, exp);
}

#[test]
fn the_cache_works_when_built_by_the_container() {
    let mut h = Harness::new();
    let exp = h.now().timestamp() + 60;
    h.codec.expect_decode().times(1).returning(move |_| Ok(claims(exp)));
    let (service, _, _) = h.build();

    service.verify_token("token-a").unwrap();
    service.verify_token("token-a").unwrap();
}

#[test]
fn a_different_token_is_never_answered_from_the_cache() {
    let mut h = Harness::new();
    let exp = h.now().timestamp() + 60;
    h.codec
        .expect_decode()
        .withf(|token| token == "token-a")
        .times(1)
        .returning(move |_| Ok(claims(exp)));
    h.codec
        .expect_decode()
        .withf(|token| token == "token-a-tampered")
        .times(1)
        .returning(|_| Err(TokenError::BadSignature));
    let (service, _, _) = h.build();

    service.verify_token("token-a").unwrap();
    let err = service.verify_token("token-a-tampered").unwrap_err();

    assert!(
        matches!(err, AuthError::InvalidToken(Some(TokenError::BadSignature))),
        "{err:?}"
    );
}

#[test]
fn an_expired_cached_entry_is_verified_again() {
    let mut h = Harness::new();
    let exp = h.now().timestamp() + 60;
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    h.codec.expect_decode().times(2).returning(move |_| {
        if counter.fetch_add(1, Ordering::SeqCst) == 0 {
            Ok(claims(exp))
        } else {
            Err(TokenError::Expired)
        }
    });
    let (service, _, clock) = h.build();

    service.verify_token("token-a").unwrap();
    clock.store(exp, Ordering::SeqCst);
    let err = service.verify_token("token-a").unwrap_err();

    assert!(
        matches!(err, AuthError::InvalidToken(Some(TokenError::Expired))),
        "{err:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[test]
fn failures_are_not_cached() {
    let mut h = Harness::new();
    h.codec
        .expect_decode()
        .times(2)
        .returning(|_| Err(TokenError::AlgorithmNotAllowed));
    let (service, _, _) = h.build();

    for _ in 0..2 {
        let err = service.verify_token("alg-none").unwrap_err();
        assert!(
            matches!(err, AuthError::InvalidToken(Some(TokenError::AlgorithmNotAllowed))),
            "{err:?}"
        );
    }
}

#[test]
fn generated_access_tokens_carry_the_configured_claims_and_no_session() {
    let mut h = Harness::new();
    let now = h.now().timestamp();
    let signed: Arc<Mutex<Option<AccessClaims>>> = Arc::default();
    let sink = Arc::clone(&signed);
    h.codec.expect_encode().times(1).returning(move |claims| {
        *sink.lock().unwrap() = Some(claims.clone());
        Ok("signed".to_owned())
    });
    let (service, _, _) = h.build();
    let user_id = UserId::new();

    let token = service
        .generate_access_token(user_id, vec!["admin".into()], tenant())
        .unwrap();

    assert_eq!(token, "signed");
    let claims = signed.lock().unwrap().clone().unwrap();
    assert_eq!(claims.sub, user_id);
    assert_eq!(claims.roles, ["admin"]);
    assert_eq!(claims.tenant_id, tenant());
    assert_eq!((claims.iat, claims.exp), (now, now + ACCESS_TTL));
    assert_eq!((claims.iss.as_str(), claims.aud.as_str()), ("platform", "platform-api"));
    assert_eq!(claims.sid, None);
}

#[test]
fn signing_failure_is_backend() {
    let mut h = Harness::new();
    h.codec
        .expect_encode()
        .returning(|_| Err(TokenError::Signing("no key".into())));
    let (service, _, _) = h.build();

    let err = service
        .generate_access_token(UserId::new(), vec![], tenant())
        .unwrap_err();

    assert!(matches!(err, AuthError::Backend(_)), "{err:?}");
}
