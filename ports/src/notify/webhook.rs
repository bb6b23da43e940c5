//! One webhook delivery attempt, as the Standard Webhooks specification sends it.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::SecretString;
use crate::notify::NotifyError;

/// A signed POST of `body` to `url` (Standard Webhooks).
///
/// Retries of one message keep its `message_id` (receivers deduplicate on
/// it) and take a fresh `timestamp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookRequest {
    /// The target URL (`http` or `https`).
    pub url: String,
    /// `webhook-id`: the message's id, the same on every retry.
    pub message_id: String,
    /// `webhook-timestamp`: when this attempt was signed.
    pub timestamp: DateTime<Utc>,
    /// The JSON body, signed byte for byte.
    pub body: String,
    /// Signing secrets in the `whsec_<base64>` form; one signature each
    /// (several while a secret is rotated). None: the request is unsigned.
    pub secrets: Vec<SecretString>,
    /// A W3C `traceparent` to send along, so the receiver's trace joins
    /// the one that emitted the event.
    pub trace_parent: Option<String>,
}

/// A receiver's 2xx answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WebhookResponse {
    /// HTTP status.
    pub status: u16,
    /// From sending to the end of the answer's headers.
    pub duration: Duration,
}

/// A failed attempt, with what the delivery log keeps.
#[derive(Debug, thiserror::Error)]
#[error("webhook delivery failed")]
pub struct WebhookFailure {
    /// The HTTP status, when the receiver answered.
    pub status: Option<u16>,
    /// How long the attempt took.
    pub duration: Duration,
    /// Why (permanent for a refused target or a 4xx other than 408/429).
    #[source]
    pub error: NotifyError,
}

impl From<WebhookFailure> for NotifyError {
    fn from(failure: WebhookFailure) -> Self {
        failure.error
    }
}
