//! The notification channels as configuration wires them: SMS through the
//! job queue to a Twilio-compatible server, a disabled channel refusing at
//! once, and queued template mail rendered with the deployment's overrides.

#![allow(clippy::unwrap_used, reason = "test helpers: a failed unwrap is a failed test")]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::post;
use platform_ports::jobs::{JobQueue, NewJob};
use platform_ports::notify::{Notifier, NotifyError};
use platform_tests::TestApp;
use shaku::HasComponent;
use tokio::sync::mpsc;

/// What the fake Twilio received: path, `authorization`, form body.
type Received = (String, String, String);

/// A Twilio-compatible Messages endpoint on 127.0.0.1 port 0.
async fn fake_twilio() -> (String, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel::<Received>();
    let app = Router::new()
        .route(
            "/{*path}",
            post(
                |State(tx): State<mpsc::UnboundedSender<Received>>, uri: Uri, headers: HeaderMap, body: String| async move {
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    let _ = tx.send((uri.path().to_owned(), auth, body));
                    (StatusCode::CREATED, r#"{"sid":"SM00000000000000000000000000000000","status":"queued"}"#)
                },
            ),
        )
        .with_state(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), rx)
}

#[tokio::test]
async fn an_sms_goes_through_the_job_queue_to_twilio() {
    let (base_url, mut received) = fake_twilio().await;
    let app = TestApp::spawn_with_overrides(&[
        ("PLATFORM__SMS__DRIVER", "twilio"),
        ("PLATFORM__SMS__TWILIO__ACCOUNT_SID", "AC0123"),
        ("PLATFORM__SMS__TWILIO__AUTH_TOKEN", "token-of-the-test"),
        ("PLATFORM__SMS__TWILIO__FROM", "+15550000001"),
        ("PLATFORM__SMS__TWILIO__BASE_URL", &base_url),
    ])
    .await
    .unwrap();
    let notifier: Arc<dyn Notifier> = app.module.resolve();
    notifier.send_sms("+15550000002", "Your code is 123456").await.unwrap();

    let (path, auth, body) = tokio::time::timeout(Duration::from_secs(15), received.recv())
        .await
        .expect("the SMS job did not reach the fake Twilio")
        .unwrap();
    assert_eq!(path, "/2010-04-01/Accounts/AC0123/Messages.json");
    // Basic auth: account SID and auth token.
    assert_eq!(auth, "Basic QUMwMTIzOnRva2VuLW9mLXRoZS10ZXN0");
    let form: Vec<(String, String)> = url_form(&body);
    assert!(form.contains(&("To".into(), "+15550000002".into())), "{form:?}");
    assert!(form.contains(&("From".into(), "+15550000001".into())), "{form:?}");
    assert!(
        form.contains(&("Body".into(), "Your code is 123456".into())),
        "{form:?}"
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_channel_without_an_adapter_refuses_at_once() {
    let app = TestApp::spawn().await.unwrap();
    let notifier: Arc<dyn Notifier> = app.module.resolve();
    let error = notifier.send_sms("+15550000002", "hi").await.unwrap_err();
    assert!(matches!(error, NotifyError::ChannelNotConfigured("sms")), "{error}");
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_queued_template_mail_renders_with_the_deployments_templates() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("en")).unwrap();
    std::fs::write(
        dir.path().join("en/welcome.subject.txt"),
        "Overridden welcome to {{ product_name }}",
    )
    .unwrap();
    let app = TestApp::spawn_with_overrides(&[("PLATFORM__MAIL__TEMPLATES_DIR", dir.path().to_str().unwrap())])
        .await
        .unwrap();
    // A task as another service enqueues it: the worker renders the template.
    let jobs: Arc<dyn JobQueue> = app.module.resolve();
    let payload = serde_json::json!({
        "to": "queued@example.com",
        "template": "welcome",
        "data": { "name": "Ada", "email": "queued@example.com", "link": "https://example.com/" },
    });
    jobs.enqueue(NewJob::new(
        "mail",
        "notify:email",
        serde_json::to_vec(&payload).unwrap(),
    ))
    .await
    .unwrap();
    let body = app
        .wait_for_mail("queued@example.com", "Overridden welcome to Platform")
        .await
        .unwrap();
    assert!(body.contains("Hello Ada"), "{body}");
    app.stop().await.unwrap();
}

/// Decodes an `application/x-www-form-urlencoded` body.
fn url_form(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}
