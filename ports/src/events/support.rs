//! What every bus adapter needs alike: Kafka's topic-name rule (the
//! in-process bus follows it too, so a topic that works in development works
//! in production) and the text a failed handler leaves in a dead letter.

use std::any::Any;
use std::error::Error;

use crate::events::BusError;

/// Kafka's limit on a topic name's length.
pub const MAX_TOPIC_LEN: usize = 249;

/// Accepts Kafka's topic names: 1 to [`MAX_TOPIC_LEN`] of `[A-Za-z0-9._-]`,
/// other than `.` and `..`.
///
/// # Errors
/// [`BusError::InvalidTopic`] naming the topic.
pub fn validate_topic(topic: &str) -> Result<(), BusError> {
    let valid = !topic.is_empty()
        && topic.len() <= MAX_TOPIC_LEN
        && topic != "."
        && topic != ".."
        && topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(BusError::InvalidTopic(topic.to_owned()))
    }
}

/// An error and its sources, joined by `: ` (a dead letter's `last_error`).
#[must_use]
pub fn error_chain(err: &(dyn Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The message of a handler's panic, when it is text.
#[must_use]
pub fn panic_message(panic: &(dyn Any + Send)) -> &str {
    if let Some(text) = panic.downcast_ref::<&str>() {
        text
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text
    } else {
        "non-text panic payload"
    }
}

#[cfg(test)]
mod tests {
    use super::{error_chain, panic_message, validate_topic};

    #[test]
    fn topic_names_follow_kafka() {
        for good in ["platform.identity", "a-b_c.D9", &"t".repeat(249)] {
            assert!(validate_topic(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "has space", "slash/ed", "ümlaut", &"t".repeat(250)] {
            assert!(validate_topic(bad).is_err(), "{bad}");
        }
    }

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn failures_become_text() {
        assert_eq!(error_chain(&Outer(std::io::Error::other("inner"))), "outer: inner");
        assert_eq!(panic_message(&"boom"), "boom");
        assert_eq!(panic_message(&String::from("bang")), "bang");
        assert_eq!(panic_message(&7_u8), "non-text panic payload");
    }
}
