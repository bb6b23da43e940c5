//! [`NotifyError`]: what every notification channel can fail with.

use crate::BoxError;

/// What a notification channel can fail with.
///
/// Permanent failures ([`NotifyError::is_permanent`]) cannot succeed on a
/// retry: a bad message, a missing template, a disabled channel, or a server
/// that refused the message for good. Everything else is transient.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The recipient or message is not acceptable (the text names the field).
    #[error("invalid message: {0}")]
    Invalid(String),
    /// No template has this name.
    #[error("unknown template `{0}`")]
    UnknownTemplate(String),
    /// A template failed to render with the data it was given.
    #[error("template `{template}` failed to render: {reason}")]
    Template {
        /// The template (and part) that failed, e.g. `welcome` (`en/welcome.html`).
        template: String,
        /// The engine's explanation, with the line.
        reason: String,
    },
    /// The channel (SMS, push, webhook...) is disabled: no adapter is configured.
    #[error("channel `{0}` is disabled: no adapter is configured for it")]
    ChannelNotConfigured(&'static str),
    /// The server refused the message for good (an SMTP 5xx reply, an SES
    /// rejection, an HTTP 4xx); retrying sends the same refusal.
    #[error("{channel} refused the message: {reply}")]
    Rejected {
        /// Which channel (`smtp`, `ses`, `twilio`, `fcm`, `apns`, `webhook`).
        channel: &'static str,
        /// The server's reply, as it gave it.
        reply: String,
    },
    /// The server is unreachable, busy or asked to try later (an SMTP 4xx,
    /// a refused connection, a timeout, throttling, an HTTP 5xx).
    #[error("{channel} is unavailable: {reason}")]
    Unavailable {
        /// Which channel.
        channel: &'static str,
        /// The reply or the transport error.
        reason: String,
    },
    /// Another transport or local failure (the caller may retry).
    #[error("notification transport failed")]
    Backend(#[source] BoxError),
}

impl NotifyError {
    /// True when a retry cannot succeed: the job should be archived now.
    #[must_use]
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::Invalid(_)
            | Self::UnknownTemplate(_)
            | Self::Template { .. }
            | Self::ChannelNotConfigured(_)
            | Self::Rejected { .. } => true,
            Self::Unavailable { .. } | Self::Backend(_) => false,
        }
    }

    /// A [`NotifyError::Backend`] from any error.
    pub fn backend(err: impl Into<BoxError>) -> Self {
        Self::Backend(err.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_permanent_and_outages_transient() {
        let rejected = NotifyError::Rejected {
            channel: "smtp",
            reply: "550 5.1.1 no such user".into(),
        };
        assert!(rejected.is_permanent());
        assert_eq!(rejected.to_string(), "smtp refused the message: 550 5.1.1 no such user");
        assert!(NotifyError::Invalid("to".into()).is_permanent());
        assert!(NotifyError::ChannelNotConfigured("sms").is_permanent());
        let busy = NotifyError::Unavailable {
            channel: "ses",
            reason: "429 TooManyRequestsException".into(),
        };
        assert!(!busy.is_permanent());
        assert!(!NotifyError::backend("disk full").is_permanent());
    }
}
