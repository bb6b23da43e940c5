//! The channels the composition root built, as one component, so the notify
//! module's job handlers and the notifier share the same senders and the
//! same templates (including those of `mail.templates_dir`).

use std::sync::Arc;

use async_trait::async_trait;
use platform_ports::notify::{NotifyError, PushPayload, PushSender, SmsSender, WebhookSender};
use shaku::Interface;

use super::MailTemplates;

/// The notification channels besides the mailer (a port of its own).
pub trait NotifyChannels: Interface {
    /// The templates loaded (and checked) at start-up.
    fn templates(&self) -> MailTemplates;
    /// The SMS sender; `None` when `sms.driver: none`.
    fn sms(&self) -> Option<Arc<dyn SmsSender>>;
    /// The push sender; `None` when `push.driver: none`.
    fn push(&self) -> Option<Arc<dyn PushSender>>;
    /// The webhook sender; `None` without one.
    fn webhooks(&self) -> Option<Arc<dyn WebhookSender>>;
}

/// What the composition root built for each channel.
#[derive(Clone, Default)]
pub struct Channels {
    /// Mail templates.
    pub templates: MailTemplates,
    /// SMS.
    pub sms: Option<Arc<dyn SmsSender>>,
    /// Push.
    pub push: Option<Arc<dyn PushSender>>,
    /// Webhooks.
    pub webhooks: Option<Arc<dyn WebhookSender>>,
}

impl NotifyChannels for Channels {
    fn templates(&self) -> MailTemplates {
        self.templates.clone()
    }

    fn sms(&self) -> Option<Arc<dyn SmsSender>> {
        self.sms.clone()
    }

    fn push(&self) -> Option<Arc<dyn PushSender>> {
        self.push.clone()
    }

    fn webhooks(&self) -> Option<Arc<dyn WebhookSender>> {
        self.webhooks.clone()
    }
}

/// A channel with no adapter: every send fails for good (a queued job of its
/// type, enqueued by another service, is archived instead of retried).
pub struct DisabledChannel(pub &'static str);

#[async_trait]
impl SmsSender for DisabledChannel {
    async fn send_sms(&self, _: &str, _: &str) -> Result<(), NotifyError> {
        Err(NotifyError::ChannelNotConfigured(self.0))
    }
}

#[async_trait]
impl PushSender for DisabledChannel {
    async fn send_push(&self, _: &str, _: &PushPayload) -> Result<(), NotifyError> {
        Err(NotifyError::ChannelNotConfigured(self.0))
    }
}
