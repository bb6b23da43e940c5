//! What the Redis queue can fail with, and how that maps onto the ports'
//! errors.

use std::time::Duration;

use deadpool_redis::redis::RedisError;
use platform_ports::jobs::{JobAdminError, JobError};

/// A failure of the Redis queue itself.
#[derive(Debug, thiserror::Error)]
pub enum RedisQueueError {
    /// A setting is unusable.
    #[error("scheduler setting `{field}` {reason}")]
    Settings {
        /// The setting's name.
        field: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// The URL cannot be parsed.
    #[error("the Redis URL is not valid")]
    InvalidUrl(#[source] RedisError),
    /// Redis could not be reached or refused a command.
    #[error("Redis command failed")]
    Redis(#[from] RedisError),
    /// A command got no answer in time.
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
    /// Redis holds data this code cannot read (not asynq's format).
    #[error("unreadable data at `{key}`: {reason}")]
    Corrupt {
        /// The key.
        key: String,
        /// What was wrong.
        reason: String,
    },
}

impl RedisQueueError {
    /// Whether trying again may succeed (Redis unreachable or slow), as
    /// opposed to Redis refusing the command.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Timeout(_) => true,
            Self::Redis(err) => {
                err.is_io_error() || err.is_timeout() || err.is_connection_dropped() || err.is_unrecoverable_error()
            }
            _ => false,
        }
    }

    pub(crate) fn corrupt(key: impl Into<String>, reason: impl ToString) -> Self {
        Self::Corrupt {
            key: key.into(),
            reason: reason.to_string(),
        }
    }
}

impl From<RedisQueueError> for JobError {
    fn from(err: RedisQueueError) -> Self {
        JobError::Backend(Box::new(err))
    }
}

impl From<RedisQueueError> for JobAdminError {
    fn from(err: RedisQueueError) -> Self {
        JobAdminError::Backend(Box::new(err))
    }
}
