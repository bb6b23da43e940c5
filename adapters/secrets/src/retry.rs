//! Bounded retry with exponential backoff for reads from a remote store.

use std::future::Future;
use std::time::Duration;

use platform_ports::BoxError;
use platform_ports::secrets::SecretError;

/// How often and how patiently a store is retried while it does not answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least one).
    pub attempts: u32,
    /// The wait after the first failure; doubled after each further one.
    pub initial_backoff: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts over about 1.4 s: enough for a store that restarts, short
    /// enough that a wrong address fails start-up quickly.
    fn default() -> Self {
        Self {
            attempts: 4,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `n + 1` (after `n` failures, `n >= 1`).
    fn backoff(&self, failures: u32) -> Duration {
        let factor = 2u32.saturating_pow(failures.saturating_sub(1));
        self.initial_backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// Why one attempt failed, which decides whether another one is made.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The store did not answer (connection, timeout, 5xx, throttling): retried.
    Transient(BoxError),
    /// The store refused our credentials: not retried.
    Denied(BoxError),
    /// The store answered with something we cannot use: not retried.
    Unreadable(BoxError),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transient(err) => write!(f, "unreachable: {err}"),
            Self::Denied(err) => write!(f, "refused: {err}"),
            Self::Unreadable(err) => write!(f, "unusable answer: {err}"),
        }
    }
}

impl Failure {
    /// The port's error for this failure, naming `store` and `key`.
    pub(crate) fn into_secret_error(self, store: &str, key: &str, attempts: u32) -> SecretError {
        let (store, key) = (store.to_owned(), key.to_owned());
        match self {
            Self::Transient(source) => SecretError::Unreachable {
                store,
                key,
                attempts,
                source,
            },
            Self::Denied(source) => SecretError::Denied { store, key, source },
            Self::Unreadable(source) => SecretError::Unreadable { store, key, source },
        }
    }
}

/// Runs `op` until it succeeds, fails for good, or `policy.attempts` transient
/// failures have passed; the error carries how many attempts were made.
pub(crate) async fn retry<T, F, Fut>(policy: RetryPolicy, mut op: F) -> Result<T, (Failure, u32)>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let attempts = policy.attempts.max(1);
    let mut made = 0;
    loop {
        made += 1;
        match op().await {
            Ok(value) => return Ok(value),
            Err(Failure::Transient(err)) if made < attempts => {
                let wait = policy.backoff(made);
                tracing::debug!(attempt = made, ?wait, error = %err, "secret store unreachable, retrying");
                tokio::time::sleep(wait).await;
            }
            Err(failure) => return Err((failure, made)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy {
            attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
        };
        let waits: Vec<_> = (1..=5).map(|n| policy.backoff(n).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 500, 500]);
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_up_to_the_bound_and_others_are_not() {
        let policy = RetryPolicy::default();
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = retry(policy, || async {
            calls.fetch_add(1, Ordering::Relaxed);
            Err(Failure::Transient("down".into()))
        })
        .await;
        let (failure, made) = result.unwrap_err();
        assert!(matches!(failure, Failure::Transient(_)));
        assert_eq!((made, calls.load(Ordering::Relaxed)), (4, 4));

        calls.store(0, Ordering::Relaxed);
        let result: Result<(), _> = retry(policy, || async {
            calls.fetch_add(1, Ordering::Relaxed);
            Err(Failure::Denied("403".into()))
        })
        .await;
        assert_eq!(result.unwrap_err().1, 1);

        calls.store(0, Ordering::Relaxed);
        let value = retry(policy, || async {
            match calls.fetch_add(1, Ordering::Relaxed) {
                0 => Err(Failure::Transient("blip".into())),
                _ => Ok(7),
            }
        })
        .await
        .unwrap();
        assert_eq!(value, 7);
    }
}
