//! Notifications: templated mail, SMS and push delivered through the job
//! queue (so sending is retried and stays off the request path), and
//! webhooks through the configured sender.

mod channels;
pub mod digest;
mod jobs;
mod templates;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use async_trait::async_trait;
use platform_ports::jobs::{JobQueue, NewJob};
use platform_ports::notify::{
    EmailMessage, Mailbox, Notifier, NotifyError, PushPayload, PushSender, SmsSender, WebhookRequest, WebhookSender,
};
use serde::Serialize;

pub use channels::{Channels, DisabledChannel, NotifyChannels};
pub use jobs::{
    MAIL_QUEUE, MAIL_TASK_TYPE, MailJob, MailJobHandler, NOTIFY_MAX_RETRIES, NOTIFY_QUEUE, PUSH_TASK_TYPE,
    PermanentFailure, PushJob, PushJobHandler, SMS_TASK_TYPE, SmsJob, SmsJobHandler, TemplateMailJob,
};
pub use templates::{
    BUILTIN_TEMPLATES, DEFAULT_LOCALE, MailTemplateSettings, MailTemplates, RenderedMail, TemplateLoadError,
};

/// Implements [`Notifier`]: renders templates and queues mail, SMS and push
/// jobs; webhooks go straight to the [`WebhookSender`]. A channel without an
/// adapter refuses at once with [`NotifyError::ChannelNotConfigured`].
#[derive(shaku::Component)]
#[shaku(interface = Notifier)]
pub struct TemplateNotifier {
    #[shaku(inject)]
    jobs: Arc<dyn JobQueue>,
    /// The mail templates.
    #[shaku(default)]
    templates: MailTemplates,
    /// Where webhooks are posted; `None` refuses them.
    #[shaku(default)]
    webhooks: Option<Arc<dyn WebhookSender>>,
    /// The SMS channel (its jobs' handler sends); `None` refuses SMS.
    #[shaku(default)]
    sms: Option<Arc<dyn SmsSender>>,
    /// The push channel (its jobs' handler sends); `None` refuses push.
    #[shaku(default)]
    push: Option<Arc<dyn PushSender>>,
}

impl TemplateNotifier {
    /// A notifier queueing mail on `jobs`, with no SMS, push or webhook channel.
    #[must_use]
    pub fn new(jobs: Arc<dyn JobQueue>, templates: MailTemplates) -> Self {
        Self {
            jobs,
            templates,
            webhooks: None,
            sms: None,
            push: None,
        }
    }

    /// This notifier posting webhooks through `sender`.
    #[must_use]
    pub fn with_webhooks(mut self, sender: Arc<dyn WebhookSender>) -> Self {
        self.webhooks = Some(sender);
        self
    }

    /// This notifier with the SMS channel on (the `notify:sms` handler sends through `sender`).
    #[must_use]
    pub fn with_sms(mut self, sender: Arc<dyn SmsSender>) -> Self {
        self.sms = Some(sender);
        self
    }

    /// This notifier with the push channel on (the `notify:push` handler sends through `sender`).
    #[must_use]
    pub fn with_push(mut self, sender: Arc<dyn PushSender>) -> Self {
        self.push = Some(sender);
        self
    }

    async fn enqueue(&self, queue: &str, task_type: &str, payload: &impl Serialize) -> Result<(), NotifyError> {
        let payload = serde_json::to_vec(payload).map_err(NotifyError::backend)?;
        let job = NewJob {
            max_retries: NOTIFY_MAX_RETRIES,
            ..NewJob::new(queue, task_type, payload)
        };
        let id = self.jobs.enqueue(job).await.map_err(NotifyError::backend)?;
        tracing::debug!(job_id = %id, task_type, "notification queued");
        Ok(())
    }

    async fn enqueue_mail(&self, message: &EmailMessage) -> Result<(), NotifyError> {
        self.enqueue(MAIL_QUEUE, MAIL_TASK_TYPE, message).await
    }

    async fn send_template(
        &self,
        to: &str,
        template: &str,
        locale: &str,
        data: &serde_json::Value,
    ) -> Result<(), NotifyError> {
        let to = recipient(to)?;
        // Rendered now, so a template or data problem reaches the caller instead of the queue.
        let mail = self.templates.render(template, locale, data)?;
        self.enqueue_mail(&EmailMessage {
            to,
            subject: mail.subject,
            text: mail.text,
            html: mail.html,
        })
        .await
    }
}

/// Refused now rather than retried ten times later.
fn recipient(to: &str) -> Result<Mailbox, NotifyError> {
    to.parse().map_err(|e| NotifyError::Invalid(format!("`to`: {e}")))
}

#[async_trait]
impl Notifier for TemplateNotifier {
    async fn send_email(&self, to: &str, subject: &str, body: &str) -> Result<(), NotifyError> {
        self.enqueue_mail(&EmailMessage::text(recipient(to)?, subject, body))
            .await
    }

    async fn send_email_with_template(
        &self,
        to: &str,
        template: &str,
        data: &serde_json::Value,
    ) -> Result<(), NotifyError> {
        self.send_template(to, template, DEFAULT_LOCALE, data).await
    }

    async fn send_localized_email(
        &self,
        to: &str,
        template: &str,
        locale: &str,
        data: &serde_json::Value,
    ) -> Result<(), NotifyError> {
        self.send_template(to, template, locale, data).await
    }

    async fn send_sms(&self, to: &str, message: &str) -> Result<(), NotifyError> {
        if self.sms.is_none() {
            return Err(NotifyError::ChannelNotConfigured("sms"));
        }
        let job = SmsJob {
            to: to.to_owned(),
            body: message.to_owned(),
        };
        self.enqueue(NOTIFY_QUEUE, SMS_TASK_TYPE, &job).await
    }

    async fn send_push(&self, device_token: &str, payload: &PushPayload) -> Result<(), NotifyError> {
        if self.push.is_none() {
            return Err(NotifyError::ChannelNotConfigured("push"));
        }
        let job = PushJob {
            token: device_token.to_owned(),
            title: payload.title.clone(),
            body: payload.body.clone(),
            data: payload.data.clone(),
        };
        self.enqueue(NOTIFY_QUEUE, PUSH_TASK_TYPE, &job).await
    }

    async fn send_webhook(&self, url: &str, payload: &serde_json::Value) -> Result<(), NotifyError> {
        let Some(sender) = &self.webhooks else {
            return Err(NotifyError::ChannelNotConfigured("webhook"));
        };
        // An ad-hoc post (no subscription): unsigned, one attempt. Subscribed
        // deliveries are signed and retried by the webhooks module.
        let request = WebhookRequest {
            url: url.to_owned(),
            message_id: format!("msg_{}", uuid::Uuid::now_v7().simple()),
            timestamp: chrono::Utc::now(),
            body: payload.to_string(),
            secrets: Vec::new(),
            trace_parent: platform_ports::telemetry::current_traceparent(),
        };
        sender.deliver(&request).await?;
        Ok(())
    }
}
