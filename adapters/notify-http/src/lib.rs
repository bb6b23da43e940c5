//! Notification channels over HTTP: Standard Webhooks (signed, behind an
//! SSRF guard), SMS on Twilio, push on FCM HTTP v1 and on APNs. Each is
//! configured by its settings and off unless bootstrap builds it.

mod apns;
mod fcm;
mod http;
mod token_cache;
mod twilio;
mod webhook;

pub use apns::{ApnsPushSender, ApnsSettings};
pub use fcm::{FcmPushSender, FcmSettings};
pub use twilio::{TwilioSettings, TwilioSmsSender};
pub use webhook::{StandardWebhookSender, WebhookSettings};
