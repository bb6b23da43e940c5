use std::sync::{Arc, Mutex};

use platform_ports::jobs::{FailurePolicy, JobError, JobHandler, MockJobQueue, NewJob};
use platform_ports::model::JobId;
use platform_ports::notify::{
    EmailMessage, MockMailer, MockPushSender, MockSmsSender, MockWebhookSender, Notifier, NotifyError, PushPayload,
    WebhookFailure, WebhookResponse,
};
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
    TemplateNotifier::new(Arc::new(queue), MailTemplates::default())
}

fn decode(job: &NewJob) -> EmailMessage {
    match MailJob::decode(&job.payload).unwrap() {
        MailJob::Message(message) => message,
        other => panic!("{other:?}"),
    }
}

fn only(jobs: &Mutex<Vec<NewJob>>) -> NewJob {
    let jobs = jobs.lock().unwrap();
    let [job] = jobs.as_slice() else { panic!("{jobs:?}") };
    job.clone()
}

#[tokio::test]
async fn templated_mail_is_rendered_and_queued_as_a_retried_job() {
    let (queue, jobs) = recording_queue();
    notifier(queue)
        .send_email_with_template(
            "ada@example.com",
            "password_reset",
            &json!({ "token": "abc", "link": "https://app/reset-password?token=abc", "email": "ada@example.com" }),
        )
        .await
        .unwrap();
    let job = only(&jobs);
    assert_eq!((job.queue.as_str(), job.task_type.as_str()), ("mail", "notify:email"));
    assert_eq!(job.max_retries, 10);
    let message = decode(&job);
    assert_eq!(message.to.address, "ada@example.com");
    assert_eq!(message.subject, "Reset your password");
    assert!(message.text.contains("\nToken: abc\n"));
    assert!(message.text.contains("https://app/reset-password?token=abc"));
    assert!(
        message
            .html
            .unwrap()
            .contains("https:&#x2f;&#x2f;app&#x2f;reset-password?token=abc")
    );
}

#[tokio::test]
async fn a_localized_mail_falls_back_to_english() {
    let (queue, jobs) = recording_queue();
    notifier(queue)
        .send_localized_email(
            "Zoë <zoe@example.com>",
            "welcome",
            "fr",
            &json!({ "email": "zoe@example.com", "link": "https://app/login" }),
        )
        .await
        .unwrap();
    let message = decode(&only(&jobs));
    assert_eq!(message.to.name.as_deref(), Some("Zoë"));
    assert_eq!(message.subject, "Welcome to Platform");
}

#[tokio::test]
async fn plain_mail_is_queued_with_the_public_payload() {
    let (queue, jobs) = recording_queue();
    notifier(queue)
        .send_email("bob@example.com", "Hi", "Body")
        .await
        .unwrap();
    let payload: serde_json::Value = serde_json::from_slice(&only(&jobs).payload).unwrap();
    assert_eq!(
        payload,
        json!({ "to": "bob@example.com", "subject": "Hi", "text": "Body" })
    );
}

#[tokio::test]
async fn bad_templates_data_and_recipients_queue_nothing() {
    // No enqueue expectation: queueing would fail the test.
    let notifier = notifier(MockJobQueue::new());
    let unknown = notifier
        .send_email_with_template("ada@example.com", "nope", &json!({}))
        .await;
    assert!(matches!(unknown, Err(NotifyError::UnknownTemplate(_))), "{unknown:?}");
    let missing = notifier
        .send_email_with_template("ada@example.com", "email_verification", &json!({ "token": "t" }))
        .await;
    assert!(matches!(missing, Err(NotifyError::Template { .. })), "{missing:?}");
    let bad = notifier.send_email("not an address", "s", "b").await;
    assert!(
        matches!(&bad, Err(NotifyError::Invalid(m)) if m.starts_with("`to`")),
        "{bad:?}"
    );
}

#[tokio::test]
async fn a_closed_queue_is_a_transient_error() {
    let mut queue = MockJobQueue::new();
    queue.expect_enqueue().returning(|_| Err(JobError::Closed));
    let err = notifier(queue)
        .send_email("ada@example.com", "s", "b")
        .await
        .unwrap_err();
    assert!(matches!(err, NotifyError::Backend(_)) && !err.is_permanent(), "{err:?}");
}

#[tokio::test]
async fn disabled_channels_say_so() {
    let notifier = notifier(MockJobQueue::new());
    let sms = notifier.send_sms("+100", "hi").await.unwrap_err();
    assert!(matches!(sms, NotifyError::ChannelNotConfigured("sms")));
    assert_eq!(
        sms.to_string(),
        "channel `sms` is disabled: no adapter is configured for it"
    );
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
async fn sms_and_push_go_through_the_queue_to_their_senders() {
    let (queue, jobs) = recording_queue();
    let mut sms = MockSmsSender::new();
    sms.expect_send_sms()
        .withf(|to, body| to == "+15551234567" && body == "code 42")
        .times(1)
        .returning(|_, _| Ok(()));
    let mut push = MockPushSender::new();
    push.expect_send_push()
        .withf(|token, p| token == "dev-1" && p.title == "T" && p.data.get("k").map(String::as_str) == Some("v"))
        .times(1)
        .returning(|_, _| Ok(()));
    let (sms, push) = (Arc::new(sms), Arc::new(push));
    let notifier = notifier(queue).with_sms(sms.clone()).with_push(push.clone());
    notifier.send_sms("+15551234567", "code 42").await.unwrap();
    let payload = PushPayload {
        title: "T".into(),
        body: "B".into(),
        data: [("k".to_owned(), "v".to_owned())].into(),
    };
    notifier.send_push("dev-1", &payload).await.unwrap();

    let jobs = jobs.lock().unwrap().clone();
    assert_eq!(
        jobs.iter()
            .map(|j| (j.queue.as_str(), j.task_type.as_str()))
            .collect::<Vec<_>>(),
        [("notify", "notify:sms"), ("notify", "notify:push")]
    );
    SmsJobHandler::new(sms).handle(&jobs[0].payload).await.unwrap();
    PushJobHandler::new(push).handle(&jobs[1].payload).await.unwrap();
}

#[tokio::test]
async fn webhooks_go_through_the_configured_sender() {
    let mut sender = MockWebhookSender::new();
    sender
        .expect_deliver()
        .withf(|r| r.url == "https://hook" && r.body == r#"{"a":1}"# && r.message_id.starts_with("msg_"))
        .times(1)
        .returning(|_| {
            Ok(WebhookResponse {
                status: 204,
                duration: std::time::Duration::from_millis(3),
            })
        });
    let notifier = notifier(MockJobQueue::new()).with_webhooks(Arc::new(sender));
    notifier.send_webhook("https://hook", &json!({ "a": 1 })).await.unwrap();
}

#[tokio::test]
async fn a_failed_webhook_returns_its_cause() {
    let mut sender = MockWebhookSender::new();
    sender.expect_deliver().returning(|_| {
        Err(WebhookFailure {
            status: Some(404),
            duration: std::time::Duration::ZERO,
            error: NotifyError::Rejected {
                channel: "webhook",
                reply: "404 Not Found".into(),
            },
        })
    });
    let notifier = notifier(MockJobQueue::new()).with_webhooks(Arc::new(sender));
    let err = notifier.send_webhook("https://hook", &json!({})).await.unwrap_err();
    assert!(err.is_permanent(), "{err:?}");
}

#[tokio::test]
async fn the_mail_job_sends_what_was_queued() {
    let (queue, jobs) = recording_queue();
    notifier(queue)
        .send_email_with_template(
            "ada@example.com",
            "email_verification",
            &json!({ "token": "t1", "link": "https://l", "email": "ada@example.com" }),
        )
        .await
        .unwrap();
    let payload = only(&jobs).payload;

    let mut mailer = MockMailer::new();
    mailer
        .expect_send()
        .withf(|m| {
            m.to.address == "ada@example.com"
                && m.subject == "Verify your email address"
                && m.text.contains("Token: t1")
                && m.html.is_some()
        })
        .times(1)
        .returning(|_| Ok(()));
    MailJobHandler::new(Arc::new(mailer)).handle(&payload).await.unwrap();
}

#[tokio::test]
async fn the_mail_job_renders_a_template_payload() {
    let mut mailer = MockMailer::new();
    mailer
        .expect_send()
        .withf(|m| {
            m.to.to_string() == "Ada <ada@example.com>"
                && m.subject == "Your password was changed"
                && m.text.contains("2026-12-01")
        })
        .times(1)
        .returning(|_| Ok(()));
    let payload = json!({
        "to": "Ada <ada@example.com>",
        "template": "password_changed",
        "locale": "de",
        "data": { "email": "ada@example.com", "changed_at": "2026-12-01", "link": "https://l" },
    });
    MailJobHandler::new(Arc::new(mailer))
        .handle(&serde_json::to_vec(&payload).unwrap())
        .await
        .unwrap();
}

/// The error the queue sees, as the channel's error.
async fn job_error(handler: &dyn JobHandler, payload: &[u8]) -> NotifyError {
    let err = handler.handle(payload).await.unwrap_err();
    // The queue's own rule: a permanent failure archives, others retry.
    let policy = FailurePolicy::decide(err.as_ref(), 0, NOTIFY_MAX_RETRIES);
    let error = match err.downcast::<NotifyError>() {
        Ok(error) => *error,
        Err(other) => other
            .downcast::<PermanentFailure>()
            .expect("a NotifyError or a PermanentFailure")
            .into_inner(),
    };
    let expected = if error.is_permanent() {
        FailurePolicy::Archive
    } else {
        FailurePolicy::Retry
    };
    assert_eq!(policy, expected, "{error}");
    error
}

#[tokio::test]
async fn the_mail_job_says_which_failures_are_permanent() {
    let mut mailer = MockMailer::new();
    mailer.expect_send().returning(|m| {
        Err(if m.to.address.starts_with("reject") {
            NotifyError::Rejected {
                channel: "smtp",
                reply: "550 5.1.1 mailbox unavailable".into(),
            }
        } else {
            NotifyError::Unavailable {
                channel: "smtp",
                reason: "connection refused".into(),
            }
        })
    });
    let handler = MailJobHandler::new(Arc::new(mailer));
    let message = |to: &str| serde_json::to_vec(&json!({ "to": to, "subject": "s", "text": "b" })).unwrap();
    assert!(!job_error(&handler, &message("ada@example.com")).await.is_permanent());
    let rejected = job_error(&handler, &message("reject@example.com")).await;
    assert!(
        rejected.is_permanent() && rejected.to_string().contains("550 5.1.1"),
        "{rejected}"
    );
    // Payloads that cannot work never reach the mailer and are permanent.
    for bad in [
        &b"not json"[..],
        br#"{"to":"a@b.c","subject":"s"}"#,
        br#"{"to":"a@b.c","subject":"s","text":"t","extra":1}"#,
        br#"{"to":"a@b.c","template":"nope"}"#,
        br#"{"to":"nobody","template":"welcome"}"#,
    ] {
        let err = job_error(&handler, bad).await;
        assert!(err.is_permanent(), "{}: {err:?}", String::from_utf8_lossy(bad));
    }
}

#[tokio::test]
async fn bad_sms_and_push_payloads_are_permanent() {
    let sms = SmsJobHandler::new(Arc::new(MockSmsSender::new()));
    assert!(job_error(&sms, br#"{"to":"+1"}"#).await.is_permanent());
    let push = PushJobHandler::new(Arc::new(MockPushSender::new()));
    assert!(job_error(&push, br#"{"title":"x"}"#).await.is_permanent());
}
