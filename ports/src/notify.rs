//! Notification channels: mail (driven), webhooks, and the seed's `Notifier` (driving).

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shaku::Interface;

use crate::BoxError;

/// What a notification channel can fail with.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The recipient or message is not acceptable.
    #[error("invalid message: {0}")]
    Invalid(String),
    /// No template has this name.
    #[error("unknown template `{0}`")]
    UnknownTemplate(String),
    /// The channel (SMS, push...) has no adapter configured.
    #[error("channel `{0}` is not configured")]
    ChannelNotConfigured(&'static str),
    /// The transport failed (the caller may retry).
    #[error("notification transport failed")]
    Backend(#[source] BoxError),
}

/// An email ready to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailMessage {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text_body: String,
    /// Optional HTML alternative.
    pub html_body: Option<String>,
}

/// A push notification.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushPayload {
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// Extra key-values for the app.
    pub data: BTreeMap<String, String>,
}

/// Sends email (file outbox in development, SMTP in production).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Mailer: Interface {
    /// Sends one message.
    ///
    /// # Errors
    /// [`NotifyError::Invalid`] for a bad address, [`NotifyError::Backend`].
    async fn send(&self, message: &EmailMessage) -> Result<(), NotifyError>;
}

/// Posts JSON to a URL (signed, retried by the caller or the job queue).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait WebhookSender: Interface {
    /// Posts `payload` to `url`.
    ///
    /// # Errors
    /// [`NotifyError::Invalid`] for a bad URL, [`NotifyError::Backend`] for a
    /// transport failure or a non-2xx answer.
    async fn post(&self, url: &str, payload: &serde_json::Value) -> Result<(), NotifyError>;
}

/// Multi-channel notifications with templates (the seed's `Notifier`).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Notifier: Interface {
    /// Sends a plain email.
    ///
    /// # Errors
    /// As [`Mailer::send`].
    async fn send_email(&self, to: &str, subject: &str, body: &str) -> Result<(), NotifyError>;

    /// Renders a named template with `data` and mails it.
    ///
    /// # Errors
    /// [`NotifyError::UnknownTemplate`], or as [`Mailer::send`].
    async fn send_email_with_template(
        &self,
        to: &str,
        template: &str,
        data: &serde_json::Value,
    ) -> Result<(), NotifyError>;

    /// Sends an SMS.
    ///
    /// # Errors
    /// [`NotifyError::ChannelNotConfigured`] without an SMS adapter, else [`NotifyError::Backend`].
    async fn send_sms(&self, to: &str, message: &str) -> Result<(), NotifyError>;

    /// Sends a push notification.
    ///
    /// # Errors
    /// [`NotifyError::ChannelNotConfigured`] without a push adapter, else [`NotifyError::Backend`].
    async fn send_push(&self, device_token: &str, payload: &PushPayload) -> Result<(), NotifyError>;

    /// Posts a webhook.
    ///
    /// # Errors
    /// As [`WebhookSender::post`].
    async fn send_webhook(&self, url: &str, payload: &serde_json::Value) -> Result<(), NotifyError>;
}
