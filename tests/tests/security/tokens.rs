//! Attacks on the access token, each answered `401 unauthorized` on `GET users/me`,
//! and the RS256 / JWKS configuration.

use platform_tests::jwt::{Jwt, decode_unverified, encode_part, now, sign_hs256, sign_rs256};
use platform_tests::{TestApp, assert_problem, crypto_fixture, expect_json};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{user_session, without_request_fields};

/// An app, a user's access token decoded, and the HS256 secret from its settings.
async fn issued() -> (TestApp, Jwt, String) {
    let app = TestApp::spawn().await.unwrap();
    let (_, tokens) = user_session(&app, "peggy@example.com").await;
    let jwt = decode_unverified(&tokens.access_token).unwrap();
    let secret = app.settings.auth.jwt.secret.expose().to_owned();
    (app, jwt, secret)
}

/// `GET users/me` with `token` must be a 401 `unauthorized` with a challenge,
/// and look exactly like the answer to a garbage token: the body never says
/// which check failed.
async fn assert_rejected(app: &TestApp, token: &str, why: &str) {
    let resp = app.get_as(token, "users/me").await.unwrap();
    let problem = assert_problem(resp, 401, "unauthorized")
        .await
        .unwrap_or_else(|e| panic!("{why}: {e:#}"));
    let resp = app.get_as("garbage", "users/me").await.unwrap();
    let reference = assert_problem(resp, 401, "unauthorized").await.unwrap();
    assert_eq!(
        without_request_fields(problem),
        without_request_fields(reference),
        "{why}: the answer differs from a garbage token's, telling which check failed"
    );
}

/// The control: re-signing the platform's own claims with the right key is accepted,
/// so every rejection below is due to the one thing changed.
async fn assert_accepted(app: &TestApp, token: &str) {
    let resp = app.get_as(token, "users/me").await.unwrap();
    expect_json(resp, 200).await.unwrap();
}

#[tokio::test]
async fn requests_without_a_token_are_challenged() {
    let app = TestApp::spawn().await.unwrap();
    let resp = app.request(Method::GET, "users/me").send().await.unwrap();
    assert_problem(resp, 401, "unauthorized").await.unwrap();
    let resp = app
        .request(Method::GET, "users/me")
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401, "unauthorized").await.unwrap();
}

#[tokio::test]
async fn a_garbage_token_is_rejected() {
    let app = TestApp::spawn().await.unwrap();
    for token in ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30."] {
        assert_rejected(&app, token, token).await;
    }
}

#[tokio::test]
async fn resigning_the_claims_with_the_configured_secret_is_accepted() {
    let (app, jwt, secret) = issued().await;
    let token = sign_hs256(&jwt.claims, secret.as_bytes(), jwt.kid()).unwrap();
    assert_accepted(&app, &token).await;
}

#[tokio::test]
async fn alg_none_is_rejected() {
    let (app, jwt, _) = issued().await;
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = encode_part(&json!({"alg": alg, "typ": "JWT"}));
        let unsigned = format!("{header}.{}.", jwt.claims_b64);
        assert_rejected(&app, &unsigned, &format!("alg {alg}, no signature")).await;
        let with_old_signature = format!("{header}.{}.{}", jwt.claims_b64, jwt.signature_b64);
        assert_rejected(&app, &with_old_signature, &format!("alg {alg}, old signature")).await;
    }
}

#[tokio::test]
async fn a_tampered_payload_is_rejected() {
    let (app, jwt, _) = issued().await;
    let (victim, _) = user_session(&app, "victor@example.com").await;
    let mut claims = jwt.claims.clone();
    claims["sub"] = victim["id"].clone();
    let tampered = format!("{}.{}.{}", jwt.header_b64, encode_part(&claims), jwt.signature_b64);
    assert_rejected(&app, &tampered, "sub changed, signature kept").await;

    let mut escalated = jwt.claims.clone();
    escalated["roles"] = json!(["admin"]);
    let tampered = format!("{}.{}.{}", jwt.header_b64, encode_part(&escalated), jwt.signature_b64);
    assert_rejected(&app, &tampered, "roles changed, signature kept").await;
}

#[tokio::test]
async fn a_signature_by_another_secret_is_rejected() {
    let (app, jwt, _) = issued().await;
    let token = sign_hs256(&jwt.claims, b"another-secret-that-is-long-enough-0123456789", jwt.kid()).unwrap();
    assert_rejected(&app, &token, "signed with another secret").await;
}

#[tokio::test]
async fn an_expired_token_is_rejected() {
    let (app, jwt, secret) = issued().await;
    let mut claims = jwt.claims.clone();
    // Well past any leeway a verifier may allow for clock skew.
    claims["iat"] = json!(now() - 7200);
    claims["exp"] = json!(now() - 3600);
    let token = sign_hs256(&claims, secret.as_bytes(), jwt.kid()).unwrap();
    assert_rejected(&app, &token, "expired an hour ago").await;
}

#[tokio::test]
async fn the_wrong_audience_or_issuer_is_rejected() {
    let (app, jwt, secret) = issued().await;
    let cases: [(&str, Value); 4] = [
        ("aud", json!("someone-else")),
        ("aud", json!(["someone-else"])),
        ("iss", json!("evil-issuer")),
        ("iss", json!("")),
    ];
    for (claim, value) in cases {
        let mut claims = jwt.claims.clone();
        claims[claim] = value.clone();
        let token = sign_hs256(&claims, secret.as_bytes(), jwt.kid()).unwrap();
        assert_rejected(&app, &token, &format!("{claim} = {value}")).await;
    }
}

#[tokio::test]
async fn without_rs256_there_is_no_jwks() {
    let app = TestApp::spawn().await.unwrap();
    let resp = app.get("/.well-known/jwks.json").await.unwrap();
    assert_problem(resp, 404, "not_found").await.unwrap();
}

/// An app signing with the RS256 fixture key pair.
async fn rs256_app() -> TestApp {
    let private = crypto_fixture("rs256_private.pem");
    let public = crypto_fixture("rs256_public.pem");
    TestApp::spawn_with_overrides(&[
        ("PLATFORM__AUTH__JWT__ALGORITHM", "RS256"),
        ("PLATFORM__AUTH__JWT__PRIVATE_KEY_FILE", private.to_str().unwrap()),
        ("PLATFORM__AUTH__JWT__PUBLIC_KEY_FILE", public.to_str().unwrap()),
    ])
    .await
    .unwrap()
}

#[tokio::test]
async fn rs256_serves_its_public_key_as_jwks() {
    let app = rs256_app().await;
    let jwks = expect_json(app.get("/.well-known/jwks.json").await.unwrap(), 200)
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap_or_else(|| panic!("no keys: {jwks}"));
    assert_eq!(keys.len(), 1, "{jwks}");
    let key = &keys[0];
    assert_eq!(key["kty"], "RSA", "{jwks}");
    assert!(key.get("d").is_none(), "the JWKS leaks the private exponent: {jwks}");

    // The served key verifies the tokens the platform issues.
    let (_, tokens) = user_session(&app, "quentin@example.com").await;
    let jwt = decode_unverified(&tokens.access_token).unwrap();
    assert_eq!(jwt.header["alg"], "RS256", "{}", jwt.header);
    if let (Some(kid), Some(served)) = (jwt.kid(), key["kid"].as_str()) {
        assert_eq!(kid, served);
    }
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.clone()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[app.settings.auth.audience.as_str()]);
    validation.set_issuer(&[app.settings.auth.issuer.as_str()]);
    jsonwebtoken::decode::<Value>(
        &tokens.access_token,
        &jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap(),
        &validation,
    )
    .unwrap_or_else(|e| panic!("the JWKS key does not verify an issued token: {e}"));
}

#[tokio::test]
async fn alg_swap_to_hs256_with_the_public_key_is_rejected() {
    let app = rs256_app().await;
    let (_, tokens) = user_session(&app, "rupert@example.com").await;
    let jwt = decode_unverified(&tokens.access_token).unwrap();

    let private_pem = std::fs::read(crypto_fixture("rs256_private.pem")).unwrap();
    let control = sign_rs256(&jwt.claims, &private_pem, jwt.kid()).unwrap();
    assert_accepted(&app, &control).await;

    let public_pem = std::fs::read_to_string(crypto_fixture("rs256_public.pem")).unwrap();
    for secret in [public_pem.as_str(), public_pem.trim_end()] {
        let forged = sign_hs256(&jwt.claims, secret.as_bytes(), jwt.kid()).unwrap();
        assert_rejected(&app, &forged, "HS256 signed with the RSA public key").await;
    }
    // And HS256 with the HMAC secret still configured but unused under RS256.
    let forged = sign_hs256(&jwt.claims, app.settings.auth.jwt.secret.expose().as_bytes(), jwt.kid()).unwrap();
    assert_rejected(&app, &forged, "HS256 with the configured HMAC secret under RS256").await;
}
