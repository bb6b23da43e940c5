//! Key checks at construction, and the JWKS document.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode_header};
use platform_ports::auth::{TokenCodec, TokenError};

use super::*;

fn refusal(settings: JwtSettings) -> String {
    match JwtCodec::new(settings) {
        Err(TokenError::Signing(message)) => message,
        Err(other) => panic!("expected a signing error, got {other:?}"),
        Ok(_) => panic!("the keys were accepted"),
    }
}

#[test]
fn a_short_hs256_secret_is_refused() {
    let message = refusal(hs256_settings("only-31-bytes-of-secret-0123456"));
    assert!(message.contains("at least 32 bytes"), "{message}");
    assert!(!message.contains("only-31"), "the message leaks the secret: {message}");
    assert!(JwtCodec::new(hs256_settings("exactly-32-bytes-of-secret-01234")).is_ok());
}

#[test]
fn unreadable_rsa_keys_are_refused_naming_which() {
    let garbage = JwtSettings::new(
        JwtAlgorithm::Rs256 {
            private_pem: SecretString::new("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            public_pem: fixture("rs256_public.pem"),
        },
        ISSUER,
        AUDIENCE,
    );
    assert!(refusal(garbage).contains("private key"));

    let garbage = JwtSettings::new(
        JwtAlgorithm::Rs256 {
            private_pem: SecretString::new(fixture("rs256_private.pem")),
            public_pem: "not a pem".to_owned(),
        },
        ISSUER,
        AUDIENCE,
    );
    assert!(refusal(garbage).contains("public key"));

    // The two files swapped.
    let swapped = rs256_settings("rs256_public.pem", "rs256_private.pem");
    assert!(refusal(swapped).contains("key"));
}

#[test]
fn a_public_key_from_another_pair_is_refused() {
    let message = refusal(rs256_settings("rs256_private.pem", "other_public.pem"));
    assert!(message.contains("does not belong"), "{message}");
}

#[test]
fn rsa_keys_under_2048_bits_are_refused() {
    let message = refusal(rs256_settings("weak_private.pem", "weak_public.pem"));
    assert!(message.contains("2048") && message.contains("1024"), "{message}");
}

#[test]
fn hs256_publishes_no_jwks() {
    assert_eq!(hs256().jwks(), None);
}

#[test]
fn the_jwks_describes_the_signing_key() {
    let codec = rs256();
    let jwks = codec.jwks().unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = keys[0].as_object().unwrap();
    let mut names: Vec<&str> = key.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["alg", "e", "kid", "kty", "n", "use"]);
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["e"], "AQAB");
    // 2048-bit modulus: 256 bytes, 342 base64url characters.
    assert_eq!(key["n"].as_str().unwrap().len(), 342);
    assert_eq!(key["kid"].as_str().unwrap().len(), 43, "a SHA-256, base64url");
}

#[test]
fn a_verifier_holding_only_the_jwks_accepts_the_tokens() {
    let codec = rs256();
    let claims = claims();
    let token = codec.encode(&claims).unwrap();
    let jwks = codec.jwks().unwrap();
    let key = &jwks["keys"][0];

    let kid = decode_header(&token).unwrap().kid.unwrap();
    assert_eq!(key["kid"].as_str(), Some(kid.as_str()));
    let decoding = DecodingKey::from_rsa_components(key["n"].as_str().unwrap(), key["e"].as_str().unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    let verified = jsonwebtoken::decode::<AccessClaims>(&token, &decoding, &validation).unwrap();
    assert_eq!(verified.claims, claims);

    // And the JWKS of another key does not verify them.
    let other = JwtCodec::new(rs256_settings("rs256_private.pem", "rs256_public.pem")).unwrap();
    assert_eq!(other.jwks(), Some(jwks.clone()));
    let foreign = DecodingKey::from_rsa_pem(fixture("other_public.pem").as_bytes()).unwrap();
    assert!(jsonwebtoken::decode::<AccessClaims>(&token, &foreign, &validation).is_err());
}

#[test]
fn the_key_id_is_the_same_for_both_pem_forms_of_a_key() {
    let pkcs8 = rs256().jwks().unwrap();
    let pkcs1 = JwtCodec::new(rs256_settings("rs256_private_pkcs1.pem", "rs256_public_pkcs1.pem"))
        .unwrap()
        .jwks()
        .unwrap();
    assert_eq!(pkcs8, pkcs1);
}

#[test]
fn the_key_id_is_the_sha256_of_the_pkcs1_public_key() {
    // Computed with OpenSSL, independently of this crate:
    // openssl rsa -pubin -in rs256_public.pem -RSAPublicKey_out -outform DER \
    //   | openssl dgst -sha256 -binary | basenc --base64url | tr -d =
    let expected = "t_SDCvLt7iikGxpbP1IrD1k8DUuh_-80wRlZTURbtH0";
    assert_eq!(rs256().jwks().unwrap()["keys"][0]["kid"], expected);
}

#[test]
fn builds_through_shaku() {
    use platform_adapter_crypto::{JwtCodecParameters, JwtKeys};
    use shaku::HasComponent;
    use std::sync::Arc;

    shaku::module! {
        TestModule {
            components = [JwtCodec],
            providers = []
        }
    }
    let claims = claims();

    let overridden = TestModule::builder()
        .with_component_override::<dyn TokenCodec>(Box::new(hs256()))
        .build();
    let codec: Arc<dyn TokenCodec> = overridden.resolve();
    let token = codec.encode(&claims).unwrap();
    assert_eq!(hs256().decode(&token).unwrap(), claims);

    let keys = JwtKeys::new(&hs256_settings(SECRET)).unwrap();
    let parameterized = TestModule::builder()
        .with_component_parameters::<JwtCodec>(JwtCodecParameters { keys })
        .build();
    let codec: Arc<dyn TokenCodec> = parameterized.resolve();
    assert_eq!(codec.decode(&token).unwrap(), claims);
}
