//! `JwtCodec` against the `TokenCodec` contract: round trips, key checks,
//! JWKS, and the attacks a JWT verifier must refuse.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod attacks;
mod keys;
mod round_trip;

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use platform_adapter_crypto::{JwtAlgorithm, JwtCodec, JwtSettings};
use platform_ports::auth::AccessClaims;
use platform_ports::model::{SecretString, TenantId, TokenFamilyId, UserId};

pub const SECRET: &str = "test-only-jwt-secret-0123456789abcdef";
pub const ISSUER: &str = "platform";
pub const AUDIENCE: &str = "platform-api";

/// A test key file under `tests/fixtures/` (test data only, never deployed).
pub fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn hs256_settings(secret: &str) -> JwtSettings {
    JwtSettings::new(
        JwtAlgorithm::Hs256 {
            secret: SecretString::new(secret),
        },
        ISSUER,
        AUDIENCE,
    )
}

pub fn rs256_settings(private: &str, public: &str) -> JwtSettings {
    JwtSettings::new(
        JwtAlgorithm::Rs256 {
            private_pem: SecretString::new(fixture(private)),
            public_pem: fixture(public),
        },
        ISSUER,
        AUDIENCE,
    )
}

pub fn hs256() -> JwtCodec {
    JwtCodec::new(hs256_settings(SECRET)).unwrap()
}

pub fn rs256() -> JwtCodec {
    JwtCodec::new(rs256_settings("rs256_private.pem", "rs256_public.pem")).unwrap()
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Claims valid for 15 minutes.
pub fn claims() -> AccessClaims {
    let now = now();
    AccessClaims {
        sub: UserId::new(),
        roles: vec!["admin".to_owned(), "editor".to_owned()],
        tenant_id: TenantId(uuid::Uuid::now_v7()),
        exp: now + 900,
        iat: now,
        jti: uuid::Uuid::new_v4().to_string(),
        iss: ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        sid: Some(TokenFamilyId::new()),
    }
}

/// The claims as a JSON object, to edit before signing by hand.
pub fn claims_json() -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(claims()).unwrap() {
        serde_json::Value::Object(map) => map,
        other => panic!("claims are not an object: {other}"),
    }
}

/// base64url (no padding) of a JSON value: one JWT segment.
pub fn segment(value: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// A token signed with HS256 under `secret`, whatever the claims say.
pub fn sign_hs256(secret: &[u8], claims: &serde_json::Map<String, serde_json::Value>) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}
