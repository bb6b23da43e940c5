//! Notification channels: mail, SMS, push and webhooks (driven), and the
//! seed's `Notifier` (driving).
//!
//! Every failure says whether retrying can help ([`NotifyError::is_permanent`]):
//! the job queue retries a transient one with backoff and archives a permanent
//! one at once, keeping the server's reply.

mod error;
mod message;
mod ports;
mod webhook;

pub use error::NotifyError;
pub use message::{EmailMessage, InvalidMailbox, Mailbox, PushPayload};
pub use ports::*;
pub use webhook::{WebhookFailure, WebhookRequest, WebhookResponse};
