//! The notification jobs: their public payloads and their handlers.
//!
//! Task types are a public contract (any asynq client may enqueue them):
//! - `notify:email`: `{"to", "subject", "text", "html"?}` or
//!   `{"to", "template", "data"?, "locale"?}`;
//! - `notify:sms`: `{"to", "body"}`;
//! - `notify:push`: `{"token", "title"?, "body"?, "data"?}`.
//!
//! A handler returns the channel's [`NotifyError`] boxed: the queue retries
//! it with backoff, and [`NotifyError::is_permanent`] says when it should be
//! archived at once (a 5xx SMTP reply, a rejected address, a bad payload).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use platform_ports::BoxError;
use platform_ports::jobs::{JobHandler, SkipRetry};
use platform_ports::notify::{EmailMessage, Mailbox, Mailer, NotifyError, PushPayload, PushSender, SmsSender};
use serde::{Deserialize, Serialize};

use super::templates::{DEFAULT_LOCALE, MailTemplates};

/// The task type of mail jobs.
pub const MAIL_TASK_TYPE: &str = "notify:email";
/// The task type of SMS jobs.
pub const SMS_TASK_TYPE: &str = "notify:sms";
/// The task type of push jobs.
pub const PUSH_TASK_TYPE: &str = "notify:push";
/// The queue mail jobs wait in.
pub const MAIL_QUEUE: &str = "mail";
/// The queue SMS and push jobs wait in.
pub const NOTIFY_QUEUE: &str = "notify";
/// How often a notification job is retried before it is archived.
pub const NOTIFY_MAX_RETRIES: u32 = 10;

/// A `notify:email` payload naming a template instead of carrying the text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateMailJob {
    /// The recipient.
    pub to: Mailbox,
    /// The template's name.
    pub template: String,
    /// The template's data (a JSON object).
    #[serde(default)]
    pub data: serde_json::Value,
    /// The locale; [`DEFAULT_LOCALE`] when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

/// A decoded `notify:email` payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailJob {
    /// A rendered message.
    Message(EmailMessage),
    /// A template to render when the job runs.
    Template(TemplateMailJob),
}

impl MailJob {
    /// Decodes a payload; the presence of `template` picks the form.
    ///
    /// # Errors
    /// [`NotifyError::Invalid`] naming what is wrong.
    pub fn decode(payload: &[u8]) -> Result<Self, NotifyError> {
        let value: serde_json::Value = serde_json::from_slice(payload).map_err(|e| invalid(MAIL_TASK_TYPE, &e))?;
        if value.get("template").is_some() {
            serde_json::from_value(value)
                .map(Self::Template)
                .map_err(|e| invalid(MAIL_TASK_TYPE, &e))
        } else {
            serde_json::from_value(value)
                .map(Self::Message)
                .map_err(|e| invalid(MAIL_TASK_TYPE, &e))
        }
    }
}

/// A `notify:sms` payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsJob {
    /// E.164 phone number.
    pub to: String,
    /// The text.
    pub body: String,
}

/// A `notify:push` payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushJob {
    /// The device token.
    pub token: String,
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Body.
    #[serde(default)]
    pub body: String,
    /// Extra key-values for the app.
    #[serde(default)]
    pub data: BTreeMap<String, String>,
}

fn invalid(task_type: &str, err: &serde_json::Error) -> NotifyError {
    NotifyError::Invalid(format!("`{task_type}` payload: {err}"))
}

/// A failure no retry can change, as a handler returns it: the
/// [`NotifyError`], with a [`SkipRetry`] as its source so the queue archives
/// the job at once (with the error's text) instead of retrying it.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct PermanentFailure {
    error: NotifyError,
    #[source]
    skip: SkipRetry,
}

impl PermanentFailure {
    /// The channel's error.
    #[must_use]
    pub fn into_inner(self) -> NotifyError {
        self.error
    }
}

/// Logs the outcome and boxes the error for the queue: a permanent one
/// archives the job, a transient one is retried with backoff.
fn report(task_type: &str, result: Result<(), NotifyError>) -> Result<(), BoxError> {
    result.map_err(|err| {
        if err.is_permanent() {
            tracing::error!(task_type, error = %err, "notification refused for good; the job is archived");
            let skip = SkipRetry(err.to_string());
            Box::new(PermanentFailure { error: err, skip }) as BoxError
        } else {
            tracing::warn!(task_type, error = %err, "notification failed; the queue will retry");
            Box::new(err) as BoxError
        }
    })
}

/// Sends the mail a `notify:email` job describes, rendering its template first.
pub struct MailJobHandler {
    mailer: Arc<dyn Mailer>,
    templates: MailTemplates,
}

impl MailJobHandler {
    /// A handler sending through `mailer` with the built-in templates.
    #[must_use]
    pub fn new(mailer: Arc<dyn Mailer>) -> Self {
        Self {
            mailer,
            templates: MailTemplates::default(),
        }
    }

    /// This handler rendering with `templates` (those of `mail.templates_dir`).
    #[must_use]
    pub fn with_templates(mut self, templates: MailTemplates) -> Self {
        self.templates = templates;
        self
    }

    async fn run(&self, payload: &[u8]) -> Result<(), NotifyError> {
        let message = match MailJob::decode(payload)? {
            MailJob::Message(message) => message,
            MailJob::Template(job) => {
                let locale = job.locale.as_deref().unwrap_or(DEFAULT_LOCALE);
                let mail = self.templates.render(&job.template, locale, &job.data)?;
                EmailMessage {
                    to: job.to,
                    subject: mail.subject,
                    text: mail.text,
                    html: mail.html,
                }
            }
        };
        self.mailer.send(&message).await
    }
}

#[async_trait]
impl JobHandler for MailJobHandler {
    async fn handle(&self, payload: &[u8]) -> Result<(), BoxError> {
        report(MAIL_TASK_TYPE, self.run(payload).await)
    }
}

/// Sends the SMS a `notify:sms` job carries.
pub struct SmsJobHandler {
    sender: Arc<dyn SmsSender>,
}

impl SmsJobHandler {
    /// A handler sending through `sender`.
    #[must_use]
    pub fn new(sender: Arc<dyn SmsSender>) -> Self {
        Self { sender }
    }
}

#[async_trait]
impl JobHandler for SmsJobHandler {
    async fn handle(&self, payload: &[u8]) -> Result<(), BoxError> {
        let result = match serde_json::from_slice::<SmsJob>(payload) {
            Ok(job) => self.sender.send_sms(&job.to, &job.body).await,
            Err(e) => Err(invalid(SMS_TASK_TYPE, &e)),
        };
        report(SMS_TASK_TYPE, result)
    }
}

/// Sends the push notification a `notify:push` job carries.
pub struct PushJobHandler {
    sender: Arc<dyn PushSender>,
}

impl PushJobHandler {
    /// A handler sending through `sender`.
    #[must_use]
    pub fn new(sender: Arc<dyn PushSender>) -> Self {
        Self { sender }
    }
}

#[async_trait]
impl JobHandler for PushJobHandler {
    async fn handle(&self, payload: &[u8]) -> Result<(), BoxError> {
        let result = match serde_json::from_slice::<PushJob>(payload) {
            Ok(job) => {
                let payload = PushPayload {
                    title: job.title,
                    body: job.body,
                    data: job.data,
                };
                self.sender.send_push(&job.token, &payload).await
            }
            Err(e) => Err(invalid(PUSH_TASK_TYPE, &e)),
        };
        report(PUSH_TASK_TYPE, result)
    }
}
