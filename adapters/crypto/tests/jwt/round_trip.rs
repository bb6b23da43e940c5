//! What a codec signs, it verifies, unchanged.

use jsonwebtoken::{Algorithm, decode_header};
use platform_ports::auth::{TokenCodec, TokenError};

use super::*;

#[test]
fn hs256_round_trips_every_claim() {
    let codec = hs256();
    let claims = claims();
    let token = codec.encode(&claims).unwrap();
    assert_eq!(codec.decode(&token).unwrap(), claims);

    let header = decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::HS256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    assert_eq!(header.kid, None);
}

#[test]
fn rs256_round_trips_every_claim() {
    let codec = rs256();
    let claims = claims();
    let token = codec.encode(&claims).unwrap();
    assert_eq!(codec.decode(&token).unwrap(), claims);

    let header = decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    let jwks = codec.jwks().unwrap();
    assert_eq!(header.kid.as_deref(), jwks["keys"][0]["kid"].as_str());
}

#[test]
fn a_token_without_a_session_round_trips() {
    let codec = hs256();
    let claims = AccessClaims {
        sid: None,
        roles: Vec::new(),
        ..claims()
    };
    let token = codec.encode(&claims).unwrap();
    assert_eq!(codec.decode(&token).unwrap(), claims);
}

#[test]
fn another_codec_with_the_same_keys_verifies() {
    let claims = claims();
    let token = rs256().encode(&claims).unwrap();
    // PKCS#1 files of the same key pair: a verifier configured differently.
    let other = JwtCodec::new(rs256_settings("rs256_private_pkcs1.pem", "rs256_public_pkcs1.pem")).unwrap();
    assert_eq!(other.decode(&token).unwrap(), claims);
}

#[test]
fn leeway_tolerates_clock_skew_on_expiry() {
    let expired = AccessClaims {
        exp: now() - 30,
        ..claims()
    };
    let token = hs256().encode(&expired).unwrap();
    assert_eq!(hs256().decode(&token), Err(TokenError::Expired));

    let tolerant = JwtCodec::new(JwtSettings {
        leeway_secs: 60,
        ..hs256_settings(SECRET)
    })
    .unwrap();
    assert_eq!(tolerant.decode(&token).unwrap(), expired);
}
