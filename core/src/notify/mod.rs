//! Notifications: templated mail delivered through the job queue, so
//! sending is retried and stays off the request path.

mod mail_job;
mod templates;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use async_trait::async_trait;
use platform_ports::jobs::JobQueue;
use platform_ports::jobs::NewJob;
use platform_ports::model::Email;
use platform_ports::notify::{EmailMessage, Notifier, NotifyError, PushPayload, WebhookSender};

pub use mail_job::MailJobHandler;
pub use templates::{MailTemplate, MailTemplates, render};

/// The task type of mail jobs.
pub const MAIL_TASK_TYPE: &str = "notify:email";
/// The queue mail jobs wait in.
pub const MAIL_QUEUE: &str = "mail";
/// How often a mail job is retried before it is archived.
pub const MAIL_MAX_RETRIES: u32 = 10;

/// Implements [`Notifier`]: renders templates and queues mail jobs; webhooks
/// go through an optional [`WebhookSender`]; SMS and push have no channel yet.
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
}

impl TemplateNotifier {
    /// A notifier queueing mail on `jobs`.
    #[must_use]
    pub fn new(jobs: Arc<dyn JobQueue>, templates: MailTemplates, webhooks: Option<Arc<dyn WebhookSender>>) -> Self {
        Self {
            jobs,
            templates,
            webhooks,
        }
    }

    async fn enqueue(&self, message: &EmailMessage) -> Result<(), NotifyError> {
        // Refused now rather than retried ten times later.
        Email::parse(&message.to)
            .map_err(|_| NotifyError::Invalid(format!("`{}` is not an email address", message.to)))?;
        let payload = serde_json::to_vec(message).map_err(|e| NotifyError::Backend(Box::new(e)))?;
        let job = NewJob {
            max_retries: MAIL_MAX_RETRIES,
            ..NewJob::new(MAIL_QUEUE, MAIL_TASK_TYPE, payload)
        };
        let id = self
            .jobs
            .enqueue(job)
            .await
            .map_err(|e| NotifyError::Backend(Box::new(e)))?;
        tracing::debug!(job_id = %id, subject = %message.subject, "mail queued");
        Ok(())
    }
}

#[async_trait]
impl Notifier for TemplateNotifier {
    async fn send_email(&self, to: &str, subject: &str, body: &str) -> Result<(), NotifyError> {
        self.enqueue(&EmailMessage {
            to: to.to_owned(),
            subject: subject.to_owned(),
            text_body: body.to_owned(),
            html_body: None,
        })
        .await
    }

    async fn send_email_with_template(
        &self,
        to: &str,
        template: &str,
        data: &serde_json::Value,
    ) -> Result<(), NotifyError> {
        let message = self.templates.get(template)?.render(to, data);
        self.enqueue(&message).await
    }

    async fn send_sms(&self, _to: &str, _message: &str) -> Result<(), NotifyError> {
        Err(NotifyError::ChannelNotConfigured("sms"))
    }

    async fn send_push(&self, _device_token: &str, _payload: &PushPayload) -> Result<(), NotifyError> {
        Err(NotifyError::ChannelNotConfigured("push"))
    }

    async fn send_webhook(&self, url: &str, payload: &serde_json::Value) -> Result<(), NotifyError> {
        match &self.webhooks {
            Some(sender) => sender.post(url, payload).await,
            None => Err(NotifyError::ChannelNotConfigured("webhook")),
        }
    }
}
