//! The FCM sender against a fake token endpoint and a fake FCM v1 API that
//! check the OAuth2 JWT-bearer grant and the message as Google documents them.

#![allow(clippy::unwrap_used, reason = "test helpers: a failed unwrap is a failed test")]

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::{FakeApi, Recorded, json};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use platform_adapter_notify_http::{FcmPushSender, FcmSettings};
use platform_ports::model::SecretString;
use platform_ports::notify::{NotifyError, PushPayload, PushSender};
use serde_json::json;

const PRIVATE_KEY: &str = include_str!("fixtures/fcm-test-key.pem");
const PUBLIC_KEY: &str = include_str!("fixtures/fcm-test-key.pub.pem");

fn settings(api: &FakeApi) -> FcmSettings {
    let key = json!({
        "type": "service_account",
        "project_id": "platform-test",
        "private_key_id": "key-1",
        "private_key": PRIVATE_KEY,
        "client_email": "push@platform-test.iam.gserviceaccount.com",
        "token_uri": format!("{}/token", api.url),
    });
    FcmSettings {
        service_account_json: SecretString::new(key.to_string()),
        base_url: api.url.clone(),
        timeout: Duration::from_secs(5),
        ..FcmSettings::default()
    }
}

/// The token endpoint's checks of the grant, then a token numbered by request.
fn token_answer(request: &Recorded, url: &str, n: usize) -> common::Answer {
    let form = request.form();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap();
    assert_eq!(field("grant_type"), "urn:ietf:params:oauth:grant-type:jwt-bearer");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[format!("{url}/token")]);
    validation.set_issuer(&["push@platform-test.iam.gserviceaccount.com"]);
    let assertion = field("assertion");
    let decoded = jsonwebtoken::decode::<serde_json::Value>(
        &assertion,
        &DecodingKey::from_rsa_pem(PUBLIC_KEY.as_bytes()).unwrap(),
        &validation,
    )
    .expect("a JWT signed by the service account's key");
    assert_eq!(decoded.header.kid.as_deref(), Some("key-1"));
    assert_eq!(
        decoded.claims["scope"],
        "https://www.googleapis.com/auth/firebase.messaging"
    );
    assert_eq!(
        decoded.claims["exp"].as_u64().unwrap() - decoded.claims["iat"].as_u64().unwrap(),
        3600
    );
    json(
        StatusCode::OK,
        json!({ "access_token": format!("ya29.token-{n}"), "expires_in": 3599, "token_type": "Bearer" }),
    )
}

async fn fake(send: impl Fn(&Recorded) -> common::Answer + Send + Sync + 'static) -> FakeApi {
    let url = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
    let seen = url.clone();
    let tokens = std::sync::atomic::AtomicUsize::new(0);
    let api = FakeApi::start(move |request, _| {
        if request.path == "/token" {
            let n = tokens.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            token_answer(request, seen.get().unwrap(), n)
        } else {
            send(request)
        }
    })
    .await;
    url.set(api.url.clone()).unwrap();
    api
}

fn payload() -> PushPayload {
    PushPayload {
        title: "New post".into(),
        body: "Zoë published “Notes”".into(),
        data: [("post_id".to_owned(), "p1".to_owned())].into(),
    }
}

#[tokio::test]
async fn sends_the_v1_message_with_a_cached_bearer_token() {
    let api = fake(|_| json(StatusCode::OK, json!({ "name": "projects/platform-test/messages/0:1" }))).await;
    let sender = FcmPushSender::new(&settings(&api)).unwrap();
    sender.send_push("device-token-1", &payload()).await.unwrap();
    sender
        .send_push(
            "device-token-2",
            &PushPayload {
                title: String::new(),
                body: String::new(),
                ..payload()
            },
        )
        .await
        .unwrap();

    let requests = api.requests();
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    // One token for both sends.
    assert_eq!(
        paths,
        [
            "/token",
            "/v1/projects/platform-test/messages:send",
            "/v1/projects/platform-test/messages:send"
        ]
    );
    let (first, silent) = (&requests[1], &requests[2]);
    assert_eq!(first.header("authorization"), "Bearer ya29.token-0");
    assert_eq!(first.header("content-type"), "application/json");
    assert_eq!(
        first.json(),
        json!({ "message": {
            "token": "device-token-1",
            "notification": { "title": "New post", "body": "Zoë published “Notes”" },
            "data": { "post_id": "p1" },
        }})
    );
    assert_eq!(
        silent.json(),
        json!({ "message": { "token": "device-token-2", "data": { "post_id": "p1" } } })
    );
}

#[tokio::test]
async fn fcm_errors_say_whether_to_retry_and_a_refused_token_is_renewed() {
    let api = fake(|request| {
        let unregistered = json!({ "error": {
            "code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND",
            "details": [{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED" }],
        }});
        match request.json()["message"]["token"].as_str().unwrap() {
            "gone" => json(StatusCode::NOT_FOUND, unregistered),
            "busy" => json(StatusCode::SERVICE_UNAVAILABLE, json!({ "error": { "code": 503, "message": "The service is currently unavailable.", "status": "UNAVAILABLE" } })),
            "auth" => json(StatusCode::UNAUTHORIZED, json!({ "error": { "code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED" } })),
            _ => json(StatusCode::OK, json!({ "name": "projects/platform-test/messages/1" })),
        }
    })
    .await;
    let sender = FcmPushSender::new(&settings(&api)).unwrap();
    let gone = sender.send_push("gone", &payload()).await.unwrap_err();
    assert!(
        matches!(&gone, NotifyError::Rejected { channel: "fcm", reply } if reply == "404: UNREGISTERED: Requested entity was not found."),
        "{gone:?}"
    );
    let busy = sender.send_push("busy", &payload()).await.unwrap_err();
    assert!(
        matches!(&busy, NotifyError::Unavailable { reason, .. } if reason.starts_with("503: UNAVAILABLE")),
        "{busy:?}"
    );
    let auth = sender.send_push("auth", &payload()).await.unwrap_err();
    assert!(!auth.is_permanent(), "{auth:?}");
    sender.send_push("ok", &payload()).await.unwrap();
    let last = api.requests().pop().unwrap();
    assert_eq!(
        last.header("authorization"),
        "Bearer ya29.token-1",
        "the refused token was not renewed"
    );
}

#[tokio::test]
async fn a_bad_key_names_the_setting() {
    let api = fake(|_| json(StatusCode::OK, json!({}))).await;
    let mut bad = settings(&api);
    bad.service_account_json = SecretString::new(r#"{"client_email":"x","private_key":"not a key"}"#);
    assert!(FcmPushSender::new(&bad).err().unwrap().contains("private_key"));
    let missing = FcmSettings::default();
    assert!(
        FcmPushSender::new(&missing)
            .err()
            .unwrap()
            .contains("push.fcm.service_account_file")
    );
}
