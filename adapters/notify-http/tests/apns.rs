//! The APNs sender against a fake provider API over HTTP/2 (prior knowledge)
//! checking the request as Apple documents it: ES256 provider token from the
//! `.p8` key, `apns-topic`, `apns-push-type`, the `aps` payload.

#![allow(clippy::unwrap_used, reason = "test helpers: a failed unwrap is a failed test")]

mod common;

use std::time::Duration;

use axum::http::{StatusCode, Version};
use common::{FakeApi, Recorded, json};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use platform_adapter_notify_http::{ApnsPushSender, ApnsSettings};
use platform_ports::model::SecretString;
use platform_ports::notify::{NotifyError, PushPayload, PushSender};
use serde_json::json;

const DEVICE: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

/// A fresh `.p8`-style key (PKCS#8 PEM) and its public half.
fn key_pair() -> (String, String) {
    let secret = p256::SecretKey::random(&mut rand_core::OsRng);
    let private = secret.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
    let public = secret.public_key().to_public_key_pem(LineEnding::LF).unwrap();
    (private, public)
}

fn settings(api: &FakeApi, private_pem: &str) -> ApnsSettings {
    ApnsSettings {
        key_pem: SecretString::new(private_pem),
        key_id: "ABC123DEFG".into(),
        team_id: "DEF123GHIJ".into(),
        topic: "com.example.platform".into(),
        base_url: api.url.clone(),
        timeout: Duration::from_secs(5),
        ..ApnsSettings::default()
    }
}

/// Checks the provider token as APNs would: ES256 under our public key, `kid`, `iss`, a fresh `iat`.
fn check_token(request: &Recorded, public_pem: &str) {
    let token = request
        .header("authorization")
        .strip_prefix("bearer ")
        .expect("a bearer token");
    let mut validation = Validation::new(Algorithm::ES256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.set_issuer(&["DEF123GHIJ"]);
    let decoded = jsonwebtoken::decode::<serde_json::Value>(
        token,
        &DecodingKey::from_ec_pem(public_pem.as_bytes()).unwrap(),
        &validation,
    )
    .expect("a token signed by the .p8 key");
    assert_eq!(decoded.header.kid.as_deref(), Some("ABC123DEFG"));
    let iat = decoded.claims["iat"].as_i64().unwrap();
    assert!((chrono::Utc::now().timestamp() - iat).abs() < 60, "iat {iat}");
}

#[tokio::test]
async fn sends_an_alert_and_a_background_push_over_http2() {
    let (private, public) = key_pair();
    let api = FakeApi::start(|_, _| {
        (
            StatusCode::OK,
            vec![("apns-id", "EC1BF194-B3B2-424A-89A9-5A918A6E6B5D".into())],
            String::new(),
        )
    })
    .await;
    let sender = ApnsPushSender::new(&settings(&api, &private)).unwrap();
    let payload = PushPayload {
        title: "New post".into(),
        body: "Zoë published “Notes”".into(),
        data: [
            ("post_id".to_owned(), "p1".to_owned()),
            ("aps".to_owned(), "ignored".to_owned()),
        ]
        .into(),
    };
    sender.send_push(DEVICE, &payload).await.unwrap();
    let silent = PushPayload {
        title: String::new(),
        body: String::new(),
        ..payload
    };
    sender.send_push(DEVICE, &silent).await.unwrap();

    let [alert, background] = api.requests().try_into().unwrap();
    for request in [&alert, &background] {
        assert_eq!(request.version, Version::HTTP_2);
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            ("POST", format!("/3/device/{DEVICE}").as_str())
        );
        assert_eq!(request.header("apns-topic"), "com.example.platform");
        check_token(request, &public);
    }
    assert_eq!(
        (alert.header("apns-push-type"), alert.header("apns-priority")),
        ("alert", "10")
    );
    assert_eq!(
        alert.json(),
        json!({ "aps": { "alert": { "title": "New post", "body": "Zoë published “Notes”" } }, "post_id": "p1" })
    );
    assert_eq!(
        (background.header("apns-push-type"), background.header("apns-priority")),
        ("background", "5")
    );
    assert_eq!(
        background.json(),
        json!({ "aps": { "content-available": 1 }, "post_id": "p1" })
    );
    // The provider token is reused, not signed per request.
    assert_eq!(alert.header("authorization"), background.header("authorization"));
}

#[tokio::test]
async fn apns_reasons_say_whether_to_retry() {
    let (private, _) = key_pair();
    let api = FakeApi::start(|_, n| match n {
        0 => json(
            StatusCode::GONE,
            json!({ "reason": "Unregistered", "timestamp": 1_700_000_000_000_i64 }),
        ),
        1 => json(StatusCode::BAD_REQUEST, json!({ "reason": "BadDeviceToken" })),
        2 => json(StatusCode::TOO_MANY_REQUESTS, json!({ "reason": "TooManyRequests" })),
        3 => json(StatusCode::FORBIDDEN, json!({ "reason": "ExpiredProviderToken" })),
        _ => json(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({ "reason": "ServiceUnavailable" }),
        ),
    })
    .await;
    let sender = ApnsPushSender::new(&settings(&api, &private)).unwrap();
    let payload = PushPayload {
        title: "t".into(),
        body: "b".into(),
        ..PushPayload::default()
    };
    for (expected, permanent) in [
        ("410: Unregistered", true),
        ("400: BadDeviceToken", true),
        ("429: TooManyRequests", false),
        ("403: ExpiredProviderToken", false),
        ("503: ServiceUnavailable", false),
    ] {
        let err = sender.send_push(DEVICE, &payload).await.unwrap_err();
        assert_eq!(err.is_permanent(), permanent, "{err:?}");
        assert!(err.to_string().ends_with(expected), "{err}");
    }
    let bad = sender.send_push("not-hex!", &payload).await.unwrap_err();
    assert!(matches!(bad, NotifyError::Invalid(_)));
    assert_eq!(api.requests().len(), 5);
}

#[tokio::test]
async fn a_bad_key_or_missing_topic_names_the_setting() {
    let (private, _) = key_pair();
    let api = FakeApi::start(|_, _| json(StatusCode::OK, json!({}))).await;
    let mut bad = settings(&api, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    assert!(ApnsPushSender::new(&bad).err().unwrap().contains("push.apns.key_file"));
    bad = settings(&api, &private);
    bad.topic = String::new();
    assert!(ApnsPushSender::new(&bad).err().unwrap().contains("push.apns.topic"));
}
