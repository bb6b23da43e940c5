//! The job that delivers queued mail.

use std::sync::Arc;

use async_trait::async_trait;
use platform_ports::BoxError;
use platform_ports::jobs::JobHandler;
use platform_ports::notify::{EmailMessage, Mailer};

/// Sends the [`EmailMessage`] a `notify:email` job carries.
///
/// Register it with the job queue under [`super::MAIL_TASK_TYPE`]; a failure
/// is returned so the queue retries with backoff, then archives the job.
pub struct MailJobHandler {
    mailer: Arc<dyn Mailer>,
}

impl MailJobHandler {
    /// A handler sending through `mailer`.
    #[must_use]
    pub fn new(mailer: Arc<dyn Mailer>) -> Self {
        Self { mailer }
    }
}

#[async_trait]
impl JobHandler for MailJobHandler {
    async fn handle(&self, payload: &[u8]) -> Result<(), BoxError> {
        let message: EmailMessage = serde_json::from_slice(payload).map_err(|err| {
            // Retrying cannot fix a bad payload; the error still goes back so
            // the queue archives the job where an operator can see it.
            tracing::error!(error = %err, "undecodable mail job");
            err
        })?;
        self.mailer.send(&message).await.map_err(|err| {
            tracing::warn!(error = %err, "mail delivery failed; the queue will retry");
            Box::new(err) as BoxError
        })
    }
}
