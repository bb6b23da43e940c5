//! The channel ports (driven) and the seed's `Notifier` (driving).

use async_trait::async_trait;
use shaku::Interface;

use crate::notify::{EmailMessage, NotifyError, PushPayload, WebhookFailure, WebhookRequest, WebhookResponse};

/// Sends email (file outbox in development, SMTP or SES in production).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Mailer: Interface {
    /// Sends one message.
    ///
    /// # Errors
    /// [`NotifyError::Invalid`] for an address the transport refuses to
    /// encode, [`NotifyError::Rejected`] when the server refuses the message
    /// (permanent), [`NotifyError::Unavailable`] or [`NotifyError::Backend`]
    /// when it may work later.
    async fn send(&self, message: &EmailMessage) -> Result<(), NotifyError>;
}

/// Sends text messages (Twilio).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait SmsSender: Interface {
    /// Sends `body` to the phone number `to` (E.164, `+15551234567`).
    ///
    /// # Errors
    /// [`NotifyError::Invalid`] for a bad number, [`NotifyError::Rejected`]
    /// when the provider refuses it, [`NotifyError::Unavailable`] when it may
    /// work later.
    async fn send_sms(&self, to: &str, body: &str) -> Result<(), NotifyError>;
}

/// Sends push notifications to one device (FCM or APNs).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait PushSender: Interface {
    /// Sends `payload` to the device with `device_token`.
    ///
    /// # Errors
    /// [`NotifyError::Rejected`] for an unknown or expired token or a refused
    /// payload, [`NotifyError::Unavailable`] when it may work later.
    async fn send_push(&self, device_token: &str, payload: &PushPayload) -> Result<(), NotifyError>;
}

/// Delivers Standard Webhooks requests.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait WebhookSender: Interface {
    /// Whether `url` may be a target: `http(s)`, and (unless private
    /// targets are allowed) resolving only to public addresses.
    ///
    /// # Errors
    /// [`NotifyError::Invalid`] naming why the URL is refused.
    async fn check_target(&self, url: &str) -> Result<(), NotifyError>;

    /// Makes one attempt; a 2xx answer is a success.
    ///
    /// # Errors
    /// A [`WebhookFailure`] with the status and duration; its error is
    /// permanent for a refused target or a 4xx other than 408 and 429,
    /// transient for 5xx, 408, 429, timeouts and connection errors.
    async fn deliver(&self, request: &WebhookRequest) -> Result<WebhookResponse, WebhookFailure>;
}

/// Multi-channel notifications with templates (the seed's `Notifier`).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Notifier: Interface {
    /// Sends a plain-text email.
    ///
    /// # Errors
    /// [`NotifyError::Invalid`] for a bad address, [`NotifyError::Backend`]
    /// when it cannot be queued.
    async fn send_email(&self, to: &str, subject: &str, body: &str) -> Result<(), NotifyError>;

    /// Renders a named template in the default locale with `data` and mails it.
    ///
    /// # Errors
    /// [`NotifyError::UnknownTemplate`], [`NotifyError::Template`], or as
    /// [`Notifier::send_email`].
    async fn send_email_with_template(
        &self,
        to: &str,
        template: &str,
        data: &serde_json::Value,
    ) -> Result<(), NotifyError>;

    /// Renders a named template in `locale` (falling back to the default
    /// locale when the template has no version in it) and mails it.
    ///
    /// # Errors
    /// As [`Notifier::send_email_with_template`].
    async fn send_localized_email(
        &self,
        to: &str,
        template: &str,
        locale: &str,
        data: &serde_json::Value,
    ) -> Result<(), NotifyError>;

    /// Sends an SMS.
    ///
    /// # Errors
    /// [`NotifyError::ChannelNotConfigured`] without an SMS adapter, else as
    /// [`Notifier::send_email`].
    async fn send_sms(&self, to: &str, message: &str) -> Result<(), NotifyError>;

    /// Sends a push notification.
    ///
    /// # Errors
    /// [`NotifyError::ChannelNotConfigured`] without a push adapter, else as
    /// [`Notifier::send_email`].
    async fn send_push(&self, device_token: &str, payload: &PushPayload) -> Result<(), NotifyError>;

    /// Posts a webhook.
    ///
    /// # Errors
    /// [`NotifyError::ChannelNotConfigured`] without a webhook sender, else
    /// as [`WebhookSender::deliver`].
    async fn send_webhook(&self, url: &str, payload: &serde_json::Value) -> Result<(), NotifyError>;
}
