use std::sync::{Arc, Mutex};

use platform_ports::jobs::NewJob;
use platform_ports::jobs::{JobError, JobHandler, MockJobQueue};
use platform_ports::model::JobId;
use platform_ports::notify::{EmailMessage, MockMailer, MockWebhookSender, Notifier, NotifyError, PushPayload};
use serde_json::json;

use super::*;

/// A queue that keeps what it is given.
fn recording_queue() -> (MockJobQueue, Arc<Mutex<Vec<NewJob>>>) {
    let jobs = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&jobs);
    let mut queue = MockJobQueue::new();
    queue.expect_enqueue().returning(move |job| {
        seen.lock().unwrap().push(job);
        Ok(JobId::new())
    });
    (queue, jobs)
}

fn notifier(queue: MockJobQueue) -> TemplateNotifier {
    TemplateNotifier::new(Arc::new(queue), MailTemplates::default(), None)
}

fn decode(job: &NewJob) -> EmailMessage {
    serde_json::from_slice(&job.payload).unwrap()
}

#[test]
fn render_fills_placeholders_once_and_as_text() {
    let data = json!({ "name": "Ada", "n": 3, "flag": true, "evil": "{{name}}", "nil": null });
    assert_eq!(
        render("Hi {{name}}, {{ n }} {{flag}} {{evil}} [{{missing}}][{{nil}}]", &data),
        "Hi Ada, 3 true {{name}} [][]"
    );
    assert_eq!(render("a {{unclosed", &data), "a {{unclosed");
    assert_eq!(render("<b>{{name}}</b>", &json!({ "name": "<i>" })), "<b><i></b>");
}

#[test]
fn default_templates_cover_the_platforms_mail() {
    let templates = MailTemplates::default();
    let names: Vec<&str> = templates.names().collect();
    assert_eq!(names, ["digest", "email_verification", "password_reset", "welcome"]);
    for (name, subject) in [
        ("email_verification", "Verify your email address"),
        ("password_reset", "Reset your password"),
    ] {
        let message = templates.get(name).unwrap().render(
            "ada@example.com",
            &json!({ "token": "T0K", "link": "http://x/l?token=T0K" }),
        );
        assert_eq!(message.subject, subject);
        assert!(
            message.text_body.lines().any(|l| l == "Token: T0K"),
            "{}",
            message.text_body
        );
        assert!(message.text_body.lines().any(|l| l == "http://x/l?token=T0K"));
    }
    assert!(matches!(templates.get("nope"), Err(NotifyError::UnknownTemplate(n)) if n == "nope"));
}

#[tokio::test]
async fn templated_mail_is_queued_as_a_retried_job() {
    let (queue, jobs) = recording_queue();
    notifier(queue)
        .send_email_with_template(
            "ada@example.com",
            "password_reset",
            &json!({ "token": "abc", "link": "https://app/reset-password?token=abc", "email": "ada@example.com" }),
        )
        .await
        .unwrap();
    let jobs = jobs.lock().unwrap();
    let [job] = jobs.as_slice() else { panic!("{jobs:?}") };
    assert_eq!((job.queue.as_str(), job.task_type.as_str()), ("mail", MAIL_TASK_TYPE));
    assert_eq!(job.max_retries, 10);
    let message = decode(job);
    assert_eq!(message.to, "ada@example.com");
    assert_eq!(message.subject, "Reset your password");
    assert!(message.text_body.contains("\nToken: abc\n"));
    assert!(message.text_body.contains("https://app/reset-password?token=abc"));
    assert!(message.text_body.contains("account ada@example.com"));
}

#[tokio::test]
async fn plain_mail_is_queued_too() {
    let (queue, jobs) = recording_queue();
    notifier(queue)
        .send_email("bob@example.com", "Hi", "Body")
        .await
        .unwrap();
    let message = decode(&jobs.lock().unwrap()[0]);
    assert_eq!(
        message,
        EmailMessage {
            to: "bob@example.com".into(),
            subject: "Hi".into(),
            text_body: "Body".into(),
            html_body: None,
        }
    );
}

#[tokio::test]
async fn unknown_templates_and_bad_recipients_queue_nothing() {
    // No enqueue expectation: queueing would fail the test.
    let notifier = notifier(MockJobQueue::new());
    let unknown = notifier
        .send_email_with_template("ada@example.com", "nope", &json!({}))
        .await;
    assert!(matches!(unknown, Err(NotifyError::UnknownTemplate(_))), "{unknown:?}");
    let bad = notifier.send_email("not an address", "s", "b").await;
    assert!(matches!(bad, Err(NotifyError::Invalid(_))), "{bad:?}");
}

#[tokio::test]
async fn a_closed_queue_is_a_backend_error() {
    let mut queue = MockJobQueue::new();
    queue.expect_enqueue().returning(|_| Err(JobError::Closed));
    let err = notifier(queue)
        .send_email("ada@example.com", "s", "b")
        .await
        .unwrap_err();
    assert!(matches!(err, NotifyError::Backend(_)), "{err:?}");
}

#[tokio::test]
async fn unconfigured_channels_say_so() {
    let notifier = notifier(MockJobQueue::new());
    assert!(matches!(
        notifier.send_sms("+100", "hi").await,
        Err(NotifyError::ChannelNotConfigured("sms"))
    ));
    assert!(matches!(
        notifier.send_push("device", &PushPayload::default()).await,
        Err(NotifyError::ChannelNotConfigured("push"))
    ));
    assert!(matches!(
        notifier.send_webhook("https://hook", &json!({})).await,
        Err(NotifyError::ChannelNotConfigured("webhook"))
    ));
}

#[tokio::test]
async fn webhooks_go_through_the_configured_sender() {
    let mut sender = MockWebhookSender::new();
    sender
        .expect_post()
        .withf(|url, payload| url == "https://hook" && *payload == json!({ "a": 1 }))
        .times(1)
        .returning(|_, _| Ok(()));
    let notifier = TemplateNotifier::new(
        Arc::new(MockJobQueue::new()),
        MailTemplates::default(),
        Some(Arc::new(sender)),
    );
    notifier.send_webhook("https://hook", &json!({ "a": 1 })).await.unwrap();
}

#[tokio::test]
async fn the_mail_job_sends_what_was_queued() {
    let (queue, jobs) = recording_queue();
    notifier(queue)
        .send_email_with_template("ada@example.com", "email_verification", &json!({ "token": "t1" }))
        .await
        .unwrap();
    let payload = jobs.lock().unwrap()[0].payload.clone();

    let mut mailer = MockMailer::new();
    mailer
        .expect_send()
        .withf(|m| {
            m.to == "ada@example.com" && m.subject == "Verify your email address" && m.text_body.contains("Token: t1")
        })
        .times(1)
        .returning(|_| Ok(()));
    MailJobHandler::new(Arc::new(mailer)).handle(&payload).await.unwrap();
}

#[tokio::test]
async fn the_mail_job_reports_failures_for_retry() {
    let mut mailer = MockMailer::new();
    mailer
        .expect_send()
        .returning(|_| Err(NotifyError::Backend("smtp down".into())));
    let handler = MailJobHandler::new(Arc::new(mailer));
    let payload = serde_json::to_vec(&EmailMessage {
        to: "ada@example.com".into(),
        subject: "s".into(),
        text_body: "b".into(),
        html_body: None,
    })
    .unwrap();
    assert!(handler.handle(&payload).await.is_err());
    // A payload that is not a message never reaches the mailer.
    assert!(handler.handle(b"not json").await.is_err());
}
