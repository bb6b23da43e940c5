//! Tokens an attacker can make, each refused for the right reason.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use platform_ports::auth::{TokenCodec, TokenError};
use serde_json::json;

use super::*;

fn both() -> [(&'static str, JwtCodec); 2] {
    [("HS256", hs256()), ("RS256", rs256())]
}

#[test]
fn alg_none_is_refused() {
    let payload = segment(&serde_json::Value::Object(claims_json()));
    for (name, codec) in both() {
        for alg in ["none", "None", "NONE", "nOnE"] {
            let header = segment(&json!({ "alg": alg, "typ": "JWT" }));
            let unsigned = format!("{header}.{payload}.");
            assert_eq!(
                codec.decode(&unsigned),
                Err(TokenError::AlgorithmNotAllowed),
                "{name} accepted alg {alg}"
            );
            // Same header with a real signature from this codec appended.
            let signed = codec.encode(&claims()).unwrap();
            let signature = signed.rsplit('.').next().unwrap();
            assert_eq!(
                codec.decode(&format!("{header}.{payload}.{signature}")),
                Err(TokenError::AlgorithmNotAllowed)
            );
        }
    }
}

#[test]
fn hs256_signed_with_the_public_key_is_refused_by_rs256() {
    // The classic key-confusion attack: the public key is public, so an
    // attacker can HMAC with its PEM text and hope the verifier follows `alg`.
    let public_pem = fixture("rs256_public.pem");
    let forged = sign_hs256(public_pem.as_bytes(), &claims_json());
    assert_eq!(rs256().decode(&forged), Err(TokenError::AlgorithmNotAllowed));
}

#[test]
fn other_algorithms_are_refused() {
    let claims = claims_json();
    let hs512 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    assert_eq!(hs256().decode(&hs512), Err(TokenError::AlgorithmNotAllowed));

    let rs256_token = rs256().encode(&super::claims()).unwrap();
    assert_eq!(hs256().decode(&rs256_token), Err(TokenError::AlgorithmNotAllowed));

    let unknown = format!(
        "{}.{}.c2ln",
        segment(&json!({ "alg": "XS256", "typ": "JWT" })),
        segment(&serde_json::Value::Object(claims))
    );
    assert_eq!(hs256().decode(&unknown), Err(TokenError::AlgorithmNotAllowed));
}

#[test]
fn a_tampered_payload_is_refused() {
    for (name, codec) in both() {
        let token = codec.encode(&claims()).unwrap();
        let mut parts: Vec<&str> = token.split('.').collect();
        let mut tampered = claims_json();
        tampered.insert("roles".to_owned(), json!(["admin", "superuser"]));
        let payload = segment(&serde_json::Value::Object(tampered));
        parts[1] = &payload;
        assert_eq!(codec.decode(&parts.join(".")), Err(TokenError::BadSignature), "{name}");
    }
}

#[test]
fn a_signature_from_another_key_is_refused() {
    let forged = sign_hs256(b"another-secret-that-is-32-bytes-long!", &claims_json());
    assert_eq!(hs256().decode(&forged), Err(TokenError::BadSignature));

    let other_key = EncodingKey::from_rsa_pem(fixture("weak_private.pem").as_bytes()).unwrap();
    let forged = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims_json(), &other_key).unwrap();
    assert_eq!(rs256().decode(&forged), Err(TokenError::BadSignature));
}

#[test]
fn an_expired_token_is_refused() {
    for (name, codec) in both() {
        let token = codec
            .encode(&AccessClaims {
                exp: now() - 1,
                iat: now() - 901,
                ..claims()
            })
            .unwrap();
        assert_eq!(codec.decode(&token), Err(TokenError::Expired), "{name}");
    }
}

fn signed_with(edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) -> String {
    let mut claims = claims_json();
    edit(&mut claims);
    sign_hs256(SECRET.as_bytes(), &claims)
}

fn assert_invalid_claims(token: &str, what: &str) {
    match hs256().decode(token) {
        Err(TokenError::InvalidClaims(_)) => {}
        other => panic!("{what}: expected invalid claims, got {other:?}"),
    }
}

#[test]
fn a_wrong_issuer_or_audience_is_refused() {
    for (claim, value) in [
        ("iss", json!("someone-else")),
        ("iss", json!("platfor")),
        ("iss", json!("")),
        ("aud", json!("another-api")),
        ("aud", json!(["another-api"])),
        ("aud", json!(["platform-api", "another-api"])),
    ] {
        let token = signed_with(|c| {
            c.insert(claim.to_owned(), value.clone());
        });
        assert_invalid_claims(&token, &format!("{claim} = {value}"));
    }
}

#[test]
fn a_missing_claim_is_refused() {
    for claim in ["exp", "iat", "iss", "aud", "sub", "tenant_id", "roles", "jti"] {
        let token = signed_with(|c| {
            c.remove(claim);
        });
        assert_invalid_claims(&token, &format!("without {claim}"));
    }
}

#[test]
fn a_claim_of_the_wrong_type_is_refused() {
    for (claim, value) in [
        ("sub", json!("not-a-uuid")),
        ("exp", json!("tomorrow")),
        ("roles", json!("admin")),
    ] {
        let token = signed_with(|c| {
            c.insert(claim.to_owned(), value.clone());
        });
        assert_invalid_claims(&token, &format!("{claim} = {value}"));
    }
}

#[test]
fn a_token_not_valid_yet_is_refused_but_nbf_is_optional() {
    let future = signed_with(|c| {
        c.insert("nbf".to_owned(), json!(now() + 600));
    });
    assert_invalid_claims(&future, "nbf in the future");

    let past = signed_with(|c| {
        c.insert("nbf".to_owned(), json!(now() - 1));
    });
    assert!(hs256().decode(&past).is_ok());
}

#[test]
fn garbage_is_malformed() {
    let valid = hs256().encode(&claims()).unwrap();
    let (header, rest) = valid.split_once('.').unwrap();
    for garbage in [
        String::new(),
        "garbage".to_owned(),
        "a.b".to_owned(),
        "a.b.c".to_owned(),
        "...".to_owned(),
        format!("{valid}.extra"),
        format!("!!{rest}"),
        format!("Bearer {valid}"),
        // Correctly signed, but the payload is not a claims object.
        sign_raw_hs256(header, "%%%"),
        sign_raw_hs256(header, &URL_SAFE_NO_PAD.encode(b"not json")),
        sign_raw_hs256(header, &segment(&json!("a string, not claims"))),
        sign_raw_hs256(header, &segment(&json!(["an", "array"]))),
    ] {
        assert_eq!(hs256().decode(&garbage), Err(TokenError::Malformed), "{garbage:?}");
    }
}

/// `header.payload.signature` with a valid HS256 signature over any text.
fn sign_raw_hs256(header: &str, payload: &str) -> String {
    use hmac::{KeyInit as _, Mac as _};
    let message = format!("{header}.{payload}");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    format!("{message}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}
