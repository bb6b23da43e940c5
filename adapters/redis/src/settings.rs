//! [`RedisSettings`]: where Redis is and how long to wait for it.

use std::time::Duration;

use platform_ports::model::SecretString;

/// How to reach Redis and when to give up on it.
#[derive(Clone, Debug)]
pub struct RedisSettings {
    /// `redis://[user:password@]host:port[/db]` (secret: may hold a password).
    pub url: SecretString,
    /// Most connections held open at once.
    pub pool_size: usize,
    /// Longest a command may take, waiting for a connection included, before
    /// Redis counts as unreachable (`CacheError::Unavailable`).
    pub command_timeout: Duration,
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            url: SecretString::new("redis://127.0.0.1:6379"),
            pool_size: 16,
            command_timeout: Duration::from_millis(500),
        }
    }
}

impl RedisSettings {
    /// The URL without credentials, for log lines and health messages.
    #[must_use]
    pub fn display_url(&self) -> String {
        redacted(self.url.expose())
    }
}

/// Drops the `user:password@` part of a URL.
fn redacted(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let rest = match rest[..authority_end].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    if scheme.is_empty() {
        rest.to_owned()
    } else {
        format!("{scheme}://{rest}")
    }
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn credentials_never_reach_the_display_url() {
        assert_eq!(
            redacted("redis://:s3cret@cache.internal:6379/2"),
            "redis://cache.internal:6379/2"
        );
        assert_eq!(redacted("redis://app:p@ss@cache:6379"), "redis://cache:6379");
        assert_eq!(redacted("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert_eq!(redacted("cache:6379"), "cache:6379");
    }
}
