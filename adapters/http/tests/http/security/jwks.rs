//! `GET /.well-known/jwks.json`: served for asymmetric keys, 404 otherwise.

use serde_json::json;

use super::Ports;
use crate::support::problem;

#[tokio::test]
async fn the_public_keys_are_served_when_there_are_any() {
    let keys = json!({"keys": [{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": "k1", "n": "AQAB", "e": "AQAB"}]});
    let mut ports = Ports::new();
    let served = keys.clone();
    ports
        .tokens
        .expect_jwks()
        .times(1)
        .returning(move || Some(served.clone()));
    let app = ports.start().await;
    let response = app.get("/.well-known/jwks.json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(response.headers().contains_key("cache-control"));
    assert_eq!(response.json::<serde_json::Value>().await.unwrap(), keys);
}

#[tokio::test]
async fn a_symmetric_key_has_no_jwks() {
    let mut ports = Ports::new();
    ports.tokens.expect_jwks().times(1).returning(|| None);
    let app = ports.start().await;
    problem(app.get("/.well-known/jwks.json").await, 404, "not_found").await;
}
