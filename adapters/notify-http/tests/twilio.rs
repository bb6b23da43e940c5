//! The Twilio SMS sender against a fake Messages API checking the request
//! as Twilio documents it: form POST, basic auth, `To`/`From`/`Body`.

#![allow(clippy::unwrap_used, reason = "test helpers: a failed unwrap is a failed test")]

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use base64::Engine as _;
use common::{FakeApi, json};
use platform_adapter_notify_http::{TwilioSettings, TwilioSmsSender};
use platform_ports::model::SecretString;
use platform_ports::notify::{NotifyError, SmsSender};
use serde_json::json;

fn settings(base_url: &str) -> TwilioSettings {
    TwilioSettings {
        account_sid: "AC0123456789abcdef0123456789abcdef".into(),
        auth_token: SecretString::new("test-auth-token"),
        from: "+15005550006".into(),
        base_url: base_url.into(),
        timeout: Duration::from_secs(5),
        ..TwilioSettings::default()
    }
}

#[tokio::test]
async fn posts_the_documented_form_with_basic_auth() {
    let api = FakeApi::start(|_, _| json(StatusCode::CREATED, json!({ "sid": "SM123", "status": "queued" }))).await;
    let sender = TwilioSmsSender::new(&settings(&api.url)).unwrap();
    sender.send_sms("+15551234567", "Your code: 042 – é").await.unwrap();

    let [request] = api.requests().try_into().unwrap();
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(
        request.path,
        "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json"
    );
    let credentials =
        base64::engine::general_purpose::STANDARD.encode("AC0123456789abcdef0123456789abcdef:test-auth-token");
    assert_eq!(request.header("authorization"), format!("Basic {credentials}"));
    assert_eq!(request.header("content-type"), "application/x-www-form-urlencoded");
    let mut form = request.form();
    form.sort();
    assert_eq!(
        form,
        [
            ("Body", "Your code: 042 – é"),
            ("From", "+15005550006"),
            ("To", "+15551234567")
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
    );
}

#[tokio::test]
async fn a_messaging_service_replaces_from() {
    let api = FakeApi::start(|_, _| json(StatusCode::CREATED, json!({ "sid": "SM1" }))).await;
    let sender = TwilioSmsSender::new(&TwilioSettings {
        from: String::new(),
        messaging_service_sid: "MG0123".into(),
        ..settings(&api.url)
    })
    .unwrap();
    sender.send_sms("+15551234567", "hi").await.unwrap();
    let form = api.requests()[0].form();
    assert!(
        form.contains(&("MessagingServiceSid".into(), "MG0123".into())),
        "{form:?}"
    );
    assert!(!form.iter().any(|(k, _)| k == "From"));
}

#[tokio::test]
async fn twilio_errors_keep_their_code_and_say_whether_to_retry() {
    let api = FakeApi::start(|_, n| match n {
        0 => json(
            StatusCode::BAD_REQUEST,
            json!({ "code": 21211, "message": "The 'To' number +15551234567 is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400 }),
        ),
        1 => json(StatusCode::TOO_MANY_REQUESTS, json!({ "code": 20429, "message": "Too Many Requests", "status": 429 })),
        2 => json(StatusCode::UNAUTHORIZED, json!({ "code": 20003, "message": "Authenticate", "status": 401 })),
        _ => json(StatusCode::SERVICE_UNAVAILABLE, json!({})),
    })
    .await;
    let sender = TwilioSmsSender::new(&settings(&api.url)).unwrap();
    let invalid = sender.send_sms("+15551234567", "x").await.unwrap_err();
    assert!(
        matches!(&invalid, NotifyError::Rejected { channel: "twilio", reply } if reply == "400: 21211 The 'To' number +15551234567 is not a valid phone number."),
        "{invalid:?}"
    );
    for expected in ["429: 20429 Too Many Requests", "401: 20003 Authenticate", "503"] {
        let err = sender.send_sms("+15551234567", "x").await.unwrap_err();
        assert!(!err.is_permanent() && err.to_string().contains(expected), "{err:?}");
    }
}

#[tokio::test]
async fn bad_numbers_and_settings_are_refused_without_a_request() {
    let api = FakeApi::start(|_, _| json(StatusCode::CREATED, json!({}))).await;
    let sender = TwilioSmsSender::new(&settings(&api.url)).unwrap();
    for bad in ["5551234567", "+1-555-123", "+1", ""] {
        assert!(
            matches!(sender.send_sms(bad, "x").await, Err(NotifyError::Invalid(_))),
            "{bad}"
        );
    }
    assert!(api.requests().is_empty());
    let missing = TwilioSmsSender::new(&TwilioSettings {
        auth_token: SecretString::default(),
        ..settings(&api.url)
    });
    assert!(missing.err().unwrap().contains("sms.twilio.auth_token"));
    let no_sender = TwilioSmsSender::new(&TwilioSettings {
        from: String::new(),
        ..settings(&api.url)
    });
    assert!(no_sender.err().unwrap().contains("sms.twilio.from"));
    let bad_url = TwilioSmsSender::new(&settings("api.twilio.com"));
    assert!(bad_url.err().unwrap().contains("sms.twilio.base_url"));
}
