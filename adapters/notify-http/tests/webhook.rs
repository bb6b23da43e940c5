//! The Standard Webhooks sender against a receiver on port 0: signatures the
//! receiver verifies on its own, retry classification, and the SSRF guard.

#![allow(clippy::unwrap_used, reason = "test helpers: a failed unwrap is a failed test")]

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{TimeZone, Utc};
use common::{FakeApi, Recorded, free_port};
use hmac::{Hmac, KeyInit, Mac};
use platform_adapter_notify_http::{StandardWebhookSender, WebhookSettings};
use platform_ports::model::SecretString;
use platform_ports::notify::{NotifyError, WebhookRequest, WebhookSender};
use sha2::Sha256;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ROTATED: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

fn sender(allow_private_targets: bool, timeout: Duration) -> StandardWebhookSender {
    StandardWebhookSender::new(&WebhookSettings {
        timeout,
        allow_private_targets,
    })
    .unwrap()
}

fn request(url: &str, timestamp: i64) -> WebhookRequest {
    WebhookRequest {
        url: url.to_owned(),
        message_id: "msg_2Kz6wB4YdC1x".into(),
        timestamp: Utc.timestamp_opt(timestamp, 0).unwrap(),
        body: r#"{"type":"blog.post.published","timestamp":"2026-12-01T10:00:00Z","data":{"id":"p1","title":"Zoë & <co>"}}"#.into(),
        secrets: vec![SecretString::new(SECRET), SecretString::new(ROTATED)],
        trace_parent: None,
    }
}

/// What a receiver does (the Standard Webhooks verification, written here
/// from the specification, not with the sender's code): true when one of the
/// `v1,` signatures is the HMAC-SHA256 of `id.timestamp.body` under `secret`.
fn verifies(received: &Recorded, secret: &str) -> bool {
    let key = STANDARD.decode(secret.trim_start_matches("whsec_")).unwrap();
    let signed = format!(
        "{}.{}.{}",
        received.header("webhook-id"),
        received.header("webhook-timestamp"),
        String::from_utf8(received.body.clone()).unwrap()
    );
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(signed.as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    received.header("webhook-signature").split(' ').any(|s| s == expected)
}

#[tokio::test]
async fn the_receiver_verifies_the_signature_of_every_secret() {
    let receiver = FakeApi::start(|_, _| (StatusCode::NO_CONTENT, vec![], String::new())).await;
    let now = Utc::now().timestamp();
    let sent = request(&format!("{}/hooks/blog", receiver.url), now);
    let response = sender(true, Duration::from_secs(5)).deliver(&sent).await.unwrap();
    assert_eq!(response.status, 204);

    let [received] = receiver.requests().try_into().unwrap();
    assert_eq!(
        (received.method.as_str(), received.path.as_str()),
        ("POST", "/hooks/blog")
    );
    assert_eq!(received.header("content-type"), "application/json");
    assert_eq!(received.header("webhook-id"), "msg_2Kz6wB4YdC1x");
    assert_eq!(received.header("webhook-timestamp"), now.to_string());
    assert_eq!(received.body, sent.body.as_bytes());
    assert_eq!(received.header("webhook-signature").split(' ').count(), 2);
    assert!(verifies(&received, SECRET) && verifies(&received, ROTATED));
    assert!(!verifies(&received, "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
}

#[tokio::test]
async fn a_receiver_failing_twice_gets_the_same_id_three_times() {
    let receiver = FakeApi::start(|_, n| {
        let status = if n < 2 {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::OK
        };
        (status, vec![], "busy".into())
    })
    .await;
    let sender = sender(true, Duration::from_secs(5));
    let url = format!("{}/hook", receiver.url);
    let base = Utc::now().timestamp();
    for attempt in 0..3 {
        // Each retry is signed again with its own timestamp.
        let result = sender.deliver(&request(&url, base + attempt)).await;
        if attempt < 2 {
            let failure = result.unwrap_err();
            assert_eq!(failure.status, Some(500));
            assert!(!failure.error.is_permanent(), "{:?}", failure.error);
            assert!(failure.error.to_string().contains("500: busy"), "{}", failure.error);
        } else {
            assert_eq!(result.unwrap().status, 200);
        }
    }
    let received = receiver.requests();
    assert_eq!(received.len(), 3);
    assert!(
        received
            .iter()
            .all(|r| r.header("webhook-id") == "msg_2Kz6wB4YdC1x" && verifies(r, SECRET))
    );
    let stamps: Vec<&str> = received.iter().map(|r| r.header("webhook-timestamp")).collect();
    assert_eq!(stamps, [base, base + 1, base + 2].map(|t| t.to_string()));
}

#[tokio::test]
async fn only_5xx_408_and_429_are_worth_a_retry() {
    let cases = [
        (StatusCode::BAD_REQUEST, true),
        (StatusCode::UNAUTHORIZED, true),
        (StatusCode::NOT_FOUND, true),
        (StatusCode::GONE, true),
        (StatusCode::MOVED_PERMANENTLY, true),
        (StatusCode::REQUEST_TIMEOUT, false),
        (StatusCode::TOO_MANY_REQUESTS, false),
        (StatusCode::BAD_GATEWAY, false),
        (StatusCode::SERVICE_UNAVAILABLE, false),
    ];
    let receiver = FakeApi::start(move |_, n| {
        let (status, _) = cases[n];
        let location = vec![("location", "http://127.0.0.1:9/elsewhere".to_owned())];
        (status, location, String::new())
    })
    .await;
    let sender = sender(true, Duration::from_secs(5));
    for (status, permanent) in cases {
        let failure = sender
            .deliver(&request(&receiver.url, 1_700_000_000))
            .await
            .unwrap_err();
        assert_eq!(failure.status, Some(status.as_u16()));
        assert_eq!(failure.error.is_permanent(), permanent, "{status}: {:?}", failure.error);
    }
    // The redirect was not followed.
    assert_eq!(receiver.requests().len(), cases.len());
}

#[tokio::test]
async fn timeouts_and_refused_connections_are_transient() {
    // A receiver that accepts the connection and never answers. (It used to
    // be a handler sleeping on a worker thread: a blocked worker can hold
    // the runtime's timer driver, and then the sender's timeout never
    // fired; CI saw it wait the whole sleep.)
    let hung = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hung_url = format!("http://{}/hook", hung.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = hung.accept().await {
            held.push(socket);
        }
    });
    let failure = sender(true, Duration::from_millis(200))
        .deliver(&request(&hung_url, 1_700_000_000))
        .await
        .unwrap_err();
    assert_eq!(failure.status, None);
    assert!(
        matches!(failure.error, NotifyError::Unavailable { channel: "webhook", .. }),
        "{:?}",
        failure.error
    );
    assert!(failure.duration >= Duration::from_millis(200) && failure.duration < Duration::from_secs(5));

    let closed = format!("http://127.0.0.1:{}/hook", free_port());
    let failure = sender(true, Duration::from_secs(2))
        .deliver(&request(&closed, 1))
        .await
        .unwrap_err();
    assert!(!failure.error.is_permanent(), "{:?}", failure.error);
}

#[tokio::test]
async fn private_targets_are_refused_before_anything_is_sent() {
    let receiver = FakeApi::start(|_, _| (StatusCode::OK, vec![], String::new())).await;
    let port = receiver.url.rsplit(':').next().unwrap().to_owned();
    let guarded = sender(false, Duration::from_secs(2));
    // An IP literal, and a name that resolves to loopback (checked by the resolver the connection uses).
    for url in [
        format!("{}/hook", receiver.url),
        format!("http://localhost:{port}/hook"),
    ] {
        let failure = guarded.deliver(&request(&url, 1)).await.unwrap_err();
        assert!(failure.error.is_permanent(), "{url}: {:?}", failure.error);
        let text = failure.error.to_string();
        assert!(
            text.contains("not a public address") && text.contains("allow_private_targets"),
            "{text}"
        );
        assert!(guarded.check_target(&url).await.is_err(), "{url}");
    }
    assert!(receiver.requests().is_empty(), "the guard let a request through");

    for url in [
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/",
        "https://192.168.1.10/",
        "http://[fd00::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0:80/",
        "ftp://example.com/hook",
        "not a url",
    ] {
        let err = guarded.check_target(url).await.unwrap_err();
        assert!(matches!(err, NotifyError::Invalid(_)), "{url}: {err:?}");
    }
    // A public literal needs no lookup.
    guarded.check_target("https://93.184.216.34/hook").await.unwrap();
    // Allowed when the deployment says so.
    let open = sender(true, Duration::from_secs(2));
    open.check_target(&format!("{}/hook", receiver.url)).await.unwrap();
    open.deliver(&request(&format!("{}/hook", receiver.url), 1))
        .await
        .unwrap();
    assert_eq!(receiver.requests().len(), 1);
}

#[tokio::test]
async fn a_malformed_secret_is_a_permanent_error() {
    let receiver = FakeApi::start(|_, _| (StatusCode::OK, vec![], String::new())).await;
    let mut bad = request(&receiver.url, 1);
    bad.secrets = vec![SecretString::new("whsec_%%%")];
    let failure = sender(true, Duration::from_secs(2)).deliver(&bad).await.unwrap_err();
    assert!(
        failure.error.is_permanent() && failure.error.to_string().contains("secret #0"),
        "{:?}",
        failure.error
    );
    assert!(receiver.requests().is_empty());
}
