//! `SesMailer` against moto's SES v2 (`.ci/services/moto.sh`), and its error
//! mapping against a local fake.

#![allow(clippy::unwrap_used, reason = "test helpers: a failed unwrap is a failed test")]

mod common;

use std::time::Duration;

use common::{FakeHttp, assert_sample_mime, id_and_date, moto_endpoint, sample_message, unique_address};
use platform_adapter_smtp::{SesMailer, SesSettings, mime_bytes};
use platform_ports::health::HealthChecker;
use platform_ports::model::SecretString;
use platform_ports::notify::{Mailer, NotifyError};
use uuid::Uuid;

fn settings(endpoint: &str, from: &str) -> SesSettings {
    SesSettings {
        region: "eu-west-1".into(),
        endpoint: endpoint.into(),
        from: from.into(),
        access_key_id: "AKIDPLATFORMTEST".into(),
        secret_access_key: SecretString::new("platform-test-secret"),
        timeout: Duration::from_secs(5),
        ..SesSettings::default()
    }
}

/// A client for setting up moto and reading back what it kept.
fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// moto routes by the credential scope and does not check signatures, so
/// set-up calls carry a well-formed but unsigned authorization.
async fn moto(
    method: reqwest::Method,
    endpoint: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> reqwest::Response {
    let mut request = http().request(method, format!("{endpoint}{path}")).header(
        "authorization",
        "AWS4-HMAC-SHA256 Credential=AKIDPLATFORMTEST/20260101/eu-west-1/ses/aws4_request, SignedHeaders=host, Signature=00",
    );
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// A sender domain verified in moto for the test's lifetime.
struct Identity<'a> {
    endpoint: &'a str,
    domain: String,
}

impl<'a> Identity<'a> {
    async fn create(endpoint: &'a str) -> Self {
        let domain = format!("mail-{}.example", Uuid::new_v4().simple());
        let created = moto(
            reqwest::Method::POST,
            endpoint,
            "/v2/email/identities",
            Some(serde_json::json!({ "EmailIdentity": domain })),
        )
        .await;
        assert!(created.status().is_success(), "{:?}", created.text().await);
        Self { endpoint, domain }
    }

    async fn delete(self) {
        moto(
            reqwest::Method::DELETE,
            self.endpoint,
            &format!("/v2/email/identities/{}", self.domain),
            None,
        )
        .await;
    }
}

/// The raw MIME moto kept for the message sent to `to`.
async fn sent_raw(endpoint: &str, to: &str) -> Vec<u8> {
    let data: serde_json::Value = http()
        .get(format!("{endpoint}/moto-api/data.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let messages = data["ses"]["RawMessage"].as_array().cloned().unwrap_or_default();
    let found = messages
        .iter()
        .find(|m| m["destinations"].as_array().is_some_and(|d| d.iter().any(|a| a == to)))
        .unwrap_or_else(|| panic!("moto kept no message to {to}"));
    found["raw_data"].as_str().unwrap().as_bytes().to_vec()
}

#[tokio::test]
async fn ses_receives_the_mime_lettre_builds() {
    let Some(endpoint) = moto_endpoint("ses_receives_the_mime_lettre_builds") else {
        return;
    };
    let identity = Identity::create(&endpoint).await;
    let from = format!("Plätform <no-reply@{}>", identity.domain);
    let settings = settings(&endpoint, &from);
    let to = unique_address("ses");
    let message = sample_message(&to);
    SesMailer::new(&settings).unwrap().send(&message).await.unwrap();

    let raw = sent_raw(&endpoint, &to).await;
    assert_sample_mime(&raw, &from, &to);
    let (id, date) = id_and_date(&raw);
    assert_eq!(
        raw,
        mime_bytes(&from, &message, id, date).unwrap(),
        "SES got other bytes than lettre's"
    );

    SesMailer::health_checker(&settings).unwrap().check().await.unwrap();
    identity.delete().await;
}

#[tokio::test]
async fn an_unverified_sender_is_rejected_for_good_with_the_reason() {
    let Some(endpoint) = moto_endpoint("an_unverified_sender_is_rejected_for_good_with_the_reason") else {
        return;
    };
    let from = format!("no-reply@unverified-{}.example", Uuid::new_v4().simple());
    let settings = settings(&endpoint, &from);
    let err = SesMailer::new(&settings)
        .unwrap()
        .send(&sample_message(&unique_address("ses")))
        .await
        .unwrap_err();
    assert!(err.is_permanent(), "{err:?}");
    let NotifyError::Rejected { channel: "ses", reply } = &err else {
        panic!("{err:?}")
    };
    assert!(
        reply.starts_with("MessageRejected: Did not have authority to send from email"),
        "{reply}"
    );
    let health = SesMailer::health_checker(&settings).unwrap().check().await.unwrap_err();
    assert!(health.to_string().contains("neither"), "{health}");
}

#[tokio::test]
async fn throttling_and_server_errors_are_retryable_and_requests_are_signed() {
    let fake = FakeHttp::start(vec![
        (
            429,
            vec![(
                "x-amzn-ErrorType",
                "TooManyRequestsException:http://internal.amazon.com/",
            )],
            r#"{"message":"Maximum sending rate exceeded."}"#,
        ),
        (500, vec![], r#"{"message":"internal failure"}"#),
        (
            400,
            vec![("x-amzn-ErrorType", "BadRequestException")],
            r#"{"message":"Illegal address"}"#,
        ),
        (
            200,
            vec![("content-type", "application/json")],
            r#"{"MessageId":"m-1"}"#,
        ),
    ])
    .await;
    let mailer = SesMailer::new(&settings(&fake.url, "no-reply@platform.example")).unwrap();
    let message = sample_message("zoe@example.com");
    let first = mailer.send(&message).await.unwrap_err();
    assert!(
        matches!(&first, NotifyError::Unavailable { reason, .. } if reason == "TooManyRequestsException: Maximum sending rate exceeded."),
        "{first:?}"
    );
    let second = mailer.send(&message).await.unwrap_err();
    assert!(
        matches!(&second, NotifyError::Unavailable { reason, .. } if reason.contains("internal failure")),
        "{second:?}"
    );
    let third = mailer.send(&message).await.unwrap_err();
    assert!(
        matches!(&third, NotifyError::Rejected { reply, .. } if reply == "BadRequestException: Illegal address"),
        "{third:?}"
    );
    mailer.send(&message).await.unwrap();

    let request = fake.requests().pop().unwrap();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/v2/email/outbound-emails")
    );
    let authorization = request.header("authorization").unwrap();
    let today = chrono::Utc::now().format("%Y%m%d").to_string();
    assert!(
        authorization.starts_with(&format!("AWS4-HMAC-SHA256 Credential=AKIDPLATFORMTEST/{today}/eu-west-1/ses/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=")),
        "{authorization}"
    );
    assert!(request.header("x-amz-date").unwrap().starts_with(&today));
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["FromEmailAddress"], "no-reply@platform.example");
    assert_eq!(
        body["Destination"]["ToAddresses"],
        serde_json::json!(["zoe@example.com"])
    );
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(body["Content"]["Raw"]["Data"].as_str().unwrap())
        .unwrap();
    assert_sample_mime(&raw, "no-reply@platform.example", "zoe@example.com");
}

#[test]
fn a_bad_endpoint_or_sender_names_the_key() {
    let mut bad = settings("ftp://nope", "no-reply@platform.example");
    assert!(SesMailer::new(&bad).err().unwrap().contains("mail.ses.endpoint"));
    bad.endpoint = String::new();
    bad.from = "nobody".into();
    assert!(SesMailer::new(&bad).err().unwrap().contains("mail.from"));
}
