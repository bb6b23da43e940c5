//! Webhooks over real HTTP: a receiver on 127.0.0.1 port 0 gets the
//! tenant's events signed per Standard Webhooks (verified here from the
//! specification, not with the platform's code), retries keep their
//! `webhook-id`, private targets are refused unless allowed, and another
//! tenant's events never arrive.
#![allow(clippy::unwrap_used, reason = "test code: a failed unwrap is a failed test")]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use platform_ports::events::{Event, EventBus};
use platform_ports::model::TenantId;
use platform_tests::{TestApp, assert_problem, expect_json, field_errors};
use serde_json::{Value, json};
use sha2::Sha256;
use shaku::HasComponent;
use tokio::sync::mpsc;

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

/// A receiver answering the statuses of `script` in turn, then 200.
async fn receiver(script: &[u16]) -> (String, mpsc::UnboundedReceiver<Received>) {
    type Shared = (mpsc::UnboundedSender<Received>, Arc<Mutex<VecDeque<u16>>>);
    let (tx, rx) = mpsc::unbounded_channel();
    let script = Arc::new(Mutex::new(script.iter().copied().collect::<VecDeque<u16>>()));
    let app = Router::new()
        .route(
            "/hook",
            post(
                |State((tx, script)): State<Shared>, headers: HeaderMap, body: String| async move {
                    let header = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    let _ = tx.send(Received {
                        id: header("webhook-id"),
                        timestamp: header("webhook-timestamp"),
                        signature: header("webhook-signature"),
                        body,
                    });
                    let status = script.lock().unwrap().pop_front().unwrap_or(200);
                    StatusCode::from_u16(status).unwrap()
                },
            ),
        )
        .with_state((tx, script));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), rx)
}

/// The Standard Webhooks verification: one of the space-separated `v1,`
/// signatures is base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")), the
/// key being the base64 after `whsec_`; the timestamp is recent.
fn verifies(received: &Received, secret: &str) -> bool {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", received.id, received.timestamp, received.body).as_bytes());
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    let sent: i64 = received.timestamp.parse().unwrap();
    let fresh = (chrono::Utc::now().timestamp() - sent).abs() < 300;
    fresh
        && received
            .signature
            .split(' ')
            .any(|s| s.strip_prefix("v1,") == Some(expected.as_str()))
}

/// An app that may deliver to 127.0.0.1, retrying quickly.
async fn app() -> TestApp {
    TestApp::spawn_with_overrides(&[
        ("PLATFORM__WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true"),
        ("PLATFORM__WEBHOOKS__RETRY_INITIAL", "100ms"),
        ("PLATFORM__WEBHOOKS__MAX_ATTEMPTS", "4"),
    ])
    .await
    .unwrap()
}

async fn subscribe(app: &TestApp, admin: &str, url: &str, types: &[&str]) -> Value {
    let resp = app
        .post_as(admin, "webhooks", &json!({"url": url, "event_types": types}))
        .await
        .unwrap();
    assert!(resp.headers().get("location").is_some());
    expect_json(resp, 201).await.unwrap()
}

/// Creates and publishes a post as `token`; returns its id.
async fn publish_post(app: &TestApp, token: &str, title: &str) -> String {
    let post = expect_json(
        app.post_as(token, "blog/posts", &json!({"title": title, "content": "Hello"}))
            .await
            .unwrap(),
        201,
    )
    .await
    .unwrap();
    let id = post["id"].as_str().unwrap().to_owned();
    expect_json(
        app.post_as(token, &format!("blog/posts/{id}/publish"), &json!({}))
            .await
            .unwrap(),
        200,
    )
    .await
    .unwrap();
    id
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("no webhook arrived")
        .unwrap()
}

/// Waits until the delivery log shows `status` for its newest delivery.
async fn log_until(app: &TestApp, admin: &str, webhook: &str, status: &str) -> Vec<Value> {
    for _ in 0..100 {
        let log = expect_json(
            app.get_as(admin, &format!("webhooks/{webhook}/deliveries"))
                .await
                .unwrap(),
            200,
        )
        .await
        .unwrap();
        let items = log["items"].as_array().unwrap().clone();
        if items.first().is_some_and(|d| d["status"] == status) {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the delivery log never showed `{status}`");
}

#[tokio::test]
async fn a_published_post_reaches_the_receiver_signed() {
    let app = app().await;
    let admin = app.admin_token().await.unwrap();
    let (url, mut rx) = receiver(&[]).await;
    let hook = subscribe(&app, &admin, &url, &["blog.post.*"]).await;
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{hook}");
    assert_eq!(hook["event_types"], json!(["blog.post.*"]));
    assert_eq!(hook["active"], true);
    let id = hook["id"].as_str().unwrap().to_owned();

    // The secret is shown once: never on a read.
    let read = expect_json(app.get_as(&admin, &format!("webhooks/{id}")).await.unwrap(), 200)
        .await
        .unwrap();
    assert!(read.get("secret").is_none(), "{read}");
    let listed = expect_json(app.get_as(&admin, "webhooks").await.unwrap(), 200)
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert!(listed["items"][0].get("secret").is_none());

    let post = publish_post(&app, &admin, "Signed").await;
    // Both events arrive; each delivery is its own job, so on a queue with
    // several workers their order is not promised (nor by Standard Webhooks).
    let mut types = Vec::new();
    let mut published = None;
    while types.len() < 2 {
        let got = next(&mut rx).await;
        assert!(verifies(&got, &secret), "signature does not verify: {got:?}");
        assert!(got.id.starts_with("msg_"), "{got:?}");
        let body: Value = serde_json::from_str(&got.body).unwrap();
        types.push(body["type"].as_str().unwrap().to_owned());
        if body["type"] == "blog.post.published" {
            published = Some((got, body));
        }
    }
    types.sort();
    assert_eq!(types, ["blog.post.created", "blog.post.published"]);
    let (got, published) = published.unwrap();
    assert_eq!(published["data"]["id"], post.as_str(), "{published}");
    assert!(published["timestamp"].is_string());
    // A changed body, or another secret, does not verify: the check can fail.
    let tampered = Received {
        body: format!("{} ", got.body),
        ..got.clone()
    };
    assert!(!verifies(&tampered, &secret));
    assert!(!verifies(&got, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));

    let log = log_until(&app, &admin, &id, "succeeded").await;
    assert_eq!(log.len(), 2);
    for delivery in &log {
        assert_eq!(delivery["status"], "succeeded", "{delivery}");
        assert_eq!(delivery["attempts"], 1);
        assert_eq!(delivery["response_status"], 200);
        assert!(delivery["duration_ms"].is_u64());
    }
    app.stop().await.unwrap();
}

async fn next_or_none(rx: &mut mpsc::UnboundedReceiver<Received>) -> Option<Received> {
    tokio::time::timeout(Duration::from_millis(200), rx.recv())
        .await
        .ok()
        .flatten()
}

#[tokio::test]
async fn a_failing_receiver_gets_the_same_webhook_id_until_it_answers() {
    let app = app().await;
    let admin = app.admin_token().await.unwrap();
    let (url, mut rx) = receiver(&[500, 500]).await;
    let hook = subscribe(&app, &admin, &url, &["blog.post.published"]).await;
    let secret = hook["secret"].as_str().unwrap().to_owned();
    let id = hook["id"].as_str().unwrap().to_owned();
    publish_post(&app, &admin, "Retried").await;

    let attempts = [next(&mut rx).await, next(&mut rx).await, next(&mut rx).await];
    for got in &attempts {
        assert_eq!(got.id, attempts[0].id, "every attempt carries the same webhook-id");
        assert_eq!(got.body, attempts[0].body);
        assert!(verifies(got, &secret));
    }
    let log = log_until(&app, &admin, &id, "succeeded").await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["attempts"], 3);
    assert_eq!(log[0]["response_status"], 200);
    assert_eq!(log[0]["message_id"], attempts[0].id.as_str());
    // Nothing more comes once it succeeded.
    assert!(next_or_none(&mut rx).await.is_none());

    // Redelivering sends the same message again.
    let delivery = log[0]["id"].as_str().unwrap();
    let resp = app
        .post_as(
            &admin,
            &format!("webhooks/{id}/deliveries/{delivery}/redeliver"),
            &json!({}),
        )
        .await
        .unwrap();
    expect_json(resp, 202).await.unwrap();
    let again = next(&mut rx).await;
    assert_eq!(again.id, attempts[0].id);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_receiver_refusing_for_good_is_not_retried() {
    let app = app().await;
    let admin = app.admin_token().await.unwrap();
    let (url, mut rx) = receiver(&[410]).await;
    let hook = subscribe(&app, &admin, &url, &["blog.post.published"]).await;
    let id = hook["id"].as_str().unwrap().to_owned();
    publish_post(&app, &admin, "Gone").await;
    next(&mut rx).await;
    let log = log_until(&app, &admin, &id, "failed").await;
    assert_eq!(log[0]["attempts"], 1);
    assert_eq!(log[0]["response_status"], 410);
    assert!(next_or_none(&mut rx).await.is_none());
    app.stop().await.unwrap();
}

#[tokio::test]
async fn private_targets_are_refused_unless_allowed() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    for url in [
        "http://127.0.0.1:9/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://localhost/hook",
        "ftp://example.com/hook",
    ] {
        let resp = app
            .post_as(&admin, "webhooks", &json!({"url": url, "event_types": ["*"]}))
            .await
            .unwrap();
        let problem = assert_problem(resp, 422, "validation_failed").await.unwrap();
        assert_eq!(
            field_errors(&problem),
            vec![("url".to_owned(), "refused_target".to_owned())],
            "{url}: {problem}"
        );
    }
    // Bad event types and unknown fields are refused too.
    let resp = app
        .post_as(
            &admin,
            "webhooks",
            &json!({"url": "https://example.com/hook", "event_types": ["Blog..x"]}),
        )
        .await
        .unwrap();
    assert_problem(resp, 422, "validation_failed").await.unwrap();
    let resp = app
        .post_as(&admin, "webhooks", &json!({"url": "https://example.com/hook"}))
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    // Without the permission: 403.
    app.register("plain@example.com", "correct-horse-battery")
        .await
        .unwrap();
    let plain = app.login("plain@example.com", "correct-horse-battery").await.unwrap();
    let resp = app.get_as(&plain.access_token, "webhooks").await.unwrap();
    assert_problem(resp, 403, "forbidden").await.unwrap();
    app.stop().await.unwrap();
}

#[tokio::test]
async fn another_tenants_events_never_arrive() {
    let app = app().await;
    let admin = app.admin_token().await.unwrap();
    let (url, mut rx) = receiver(&[]).await;
    let hook = subscribe(&app, &admin, &url, &["*"]).await;
    let id = hook["id"].as_str().unwrap().to_owned();

    // Events of another tenant, on the bus the outbox relay publishes to.
    let bus: Arc<dyn EventBus> = app.module.resolve();
    let other = TenantId(uuid::Uuid::new_v4());
    for kind in ["blog.post.published", "platform.user.created"] {
        let topic = if kind.starts_with("blog") {
            "blog.posts"
        } else {
            "platform.identity"
        };
        let event = Event::new(kind, "test", other, json!({"id": "elsewhere"}));
        bus.publish(topic, &event).await.unwrap();
    }
    // Then one of the subscription's own tenant, which does arrive.
    let post = publish_post(&app, &admin, "Ours").await;
    // Deliveries are separate jobs, so they may arrive in any order: take
    // them until ours is published and nothing more comes.
    let mut seen = Vec::new();
    // Records one delivery; true when it is our post's publication.
    let mut check = |got: &Received| -> bool {
        let body: Value = serde_json::from_str(&got.body).unwrap();
        assert_ne!(
            body["data"]["id"], "elsewhere",
            "another tenant's event arrived: {body}"
        );
        seen.push(body["type"].as_str().unwrap().to_owned());
        let published = body["type"] == "blog.post.published";
        if published {
            assert_eq!(body["data"]["id"], post.as_str());
        }
        published
    };
    while !check(&next(&mut rx).await) {}
    while let Some(got) = next_or_none(&mut rx).await {
        check(&got);
    }
    let log = log_until(&app, &admin, &id, "succeeded").await;
    assert_eq!(log.len(), seen.len(), "{log:?}");
    app.stop().await.unwrap();
}

/// A URL is stored as sent: a NUL in it was 503 on PostgreSQL (and 201 in
/// memory), and a URL parser drops tabs and line breaks silently. Every
/// profile now refuses control characters, on create and on update.
#[tokio::test]
async fn a_url_with_a_control_character_is_refused_on_every_profile() {
    let app = app().await;
    let admin = app.admin_token().await.unwrap();
    let bad = [
        "http://127.0.0.1:9/a\u{0}b",
        "ht\ttp://127.0.0.1:9/hook",
        "http://127.0.0.1:9/\u{1}",
    ];
    for url in bad {
        let resp = app
            .post_as(&admin, "webhooks", &json!({"url": url, "event_types": ["*"]}))
            .await
            .unwrap();
        let problem = assert_problem(resp, 422, "validation_failed").await.unwrap();
        assert_eq!(
            field_errors(&problem),
            vec![("url".to_owned(), "invalid_character".to_owned())],
            "{url:?}: {problem}"
        );
    }
    // Surrounding whitespace is trimmed; the same checks hold on update.
    let created = subscribe(&app, &admin, " http://127.0.0.1:9/hook\n", &["*"]).await;
    assert_eq!(created["url"], "http://127.0.0.1:9/hook");
    let path = format!("webhooks/{}", created["id"].as_str().unwrap());
    for url in bad {
        let resp = app
            .authed(reqwest::Method::PATCH, &path, &admin)
            .json(&json!({"url": url}))
            .send()
            .await
            .unwrap();
        let problem = assert_problem(resp, 422, "validation_failed").await.unwrap();
        assert_eq!(field_errors(&problem)[0].0, "url", "{url:?}: {problem}");
    }
}
