//! Reading access tokens without verifying them, and forging attack tokens.
//!
//! The attacks start from a token the platform issued and change one thing
//! (algorithm, signature key, a claim), so each rejection can only be due to
//! that one change; re-signing the unchanged claims with the right key is the
//! control that proves the forging itself is sound.

use anyhow::{Context, anyhow};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::Value;

/// A compact JWS split into its parts.
#[derive(Clone, Debug)]
pub struct Jwt {
    /// The decoded JOSE header.
    pub header: Value,
    /// The decoded claims.
    pub claims: Value,
    /// The encoded header, exactly as received.
    pub header_b64: String,
    /// The encoded claims, exactly as received.
    pub claims_b64: String,
    /// The encoded signature, exactly as received.
    pub signature_b64: String,
}

impl Jwt {
    /// The header's `kid`, if any.
    #[must_use]
    pub fn kid(&self) -> Option<&str> {
        self.header["kid"].as_str()
    }
}

/// Splits and decodes `token` without checking its signature.
///
/// # Errors
/// When it is not three base64url parts with JSON header and claims.
pub fn decode_unverified(token: &str) -> anyhow::Result<Jwt> {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(anyhow!("not a compact JWS: {token:?}"));
    };
    let decode = |part: &str| -> anyhow::Result<Value> {
        let bytes = URL_SAFE_NO_PAD
            .decode(part)
            .with_context(|| format!("not base64url: {part:?}"))?;
        serde_json::from_slice(&bytes).context("not JSON")
    };
    Ok(Jwt {
        header: decode(h)?,
        claims: decode(c)?,
        header_b64: h.to_owned(),
        claims_b64: c.to_owned(),
        signature_b64: s.to_owned(),
    })
}

/// `value` as base64url JSON without padding.
#[must_use]
pub fn encode_part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// A header with `alg`, `typ: JWT` and `kid` when given.
fn header(alg: Algorithm, kid: Option<&str>) -> Header {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    header
}

/// Signs `claims` with HS256 and `secret`.
///
/// # Errors
/// When the claims cannot be serialized.
pub fn sign_hs256(claims: &Value, secret: &[u8], kid: Option<&str>) -> anyhow::Result<String> {
    Ok(jsonwebtoken::encode(
        &header(Algorithm::HS256, kid),
        claims,
        &EncodingKey::from_secret(secret),
    )?)
}

/// Signs `claims` with RS256 and the PEM private key `private_key_pem`.
///
/// # Errors
/// When the key is not an RSA PEM or the claims cannot be serialized.
pub fn sign_rs256(claims: &Value, private_key_pem: &[u8], kid: Option<&str>) -> anyhow::Result<String> {
    Ok(jsonwebtoken::encode(
        &header(Algorithm::RS256, kid),
        claims,
        &EncodingKey::from_rsa_pem(private_key_pem)?,
    )?)
}

/// The current time as seconds since the epoch.
#[must_use]
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn signed_tokens_decode_back() {
        let claims = json!({"sub": "u1", "exp": now() + 60});
        let token = sign_hs256(&claims, b"a-secret-long-enough-for-hmac-use", Some("k1")).unwrap();
        let jwt = decode_unverified(&token).unwrap();
        assert_eq!(jwt.claims, claims);
        assert_eq!(jwt.header["alg"], "HS256");
        assert_eq!(jwt.kid(), Some("k1"));
        assert_eq!(
            format!("{}.{}.{}", jwt.header_b64, jwt.claims_b64, jwt.signature_b64),
            token
        );
    }

    #[test]
    fn rejects_what_is_not_a_jws() {
        assert!(decode_unverified("abc").is_err());
        assert!(decode_unverified("a.b.c.d").is_err());
        assert!(decode_unverified("!!.??.x").is_err());
    }
}
