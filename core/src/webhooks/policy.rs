//! How a failed delivery is retried (`webhooks.max_attempts`,
//! `webhooks.retry_initial`, `webhooks.retry_max`).

use std::time::Duration;

use shaku::{Component, Interface};

/// The retry schedule of deliveries.
pub trait WebhookRetry: Interface {
    /// Attempts per delivery (and per redelivery) before it is marked failed.
    fn max_attempts(&self) -> u32;
    /// The wait after the `failed`-th failed attempt (1-based).
    fn delay(&self, failed: u32) -> Duration;
}

/// Exponential backoff: `initial × 6^(n-1)`, capped at `max`. With the
/// defaults (5 s, 10 h, 8 attempts) that is close to the schedule the
/// Standard Webhooks guidance suggests: 5 s, 30 s, 3 min, 18 min, 1.8 h,
/// 10 h, 10 h.
#[derive(Component, Clone, Copy, Debug)]
#[shaku(interface = WebhookRetry)]
pub struct WebhookPolicy {
    #[shaku(default = 8)]
    max_attempts: u32,
    #[shaku(default = Duration::from_secs(5))]
    initial: Duration,
    #[shaku(default = Duration::from_secs(10 * 3600))]
    max: Duration,
}

impl WebhookPolicy {
    /// A policy of `max_attempts` (at least one) from `initial` up to `max`.
    #[must_use]
    pub fn new(max_attempts: u32, initial: Duration, max: Duration) -> Self {
        Self {
            max_attempts: max_attempts.max(1),
            initial,
            max,
        }
    }
}

impl WebhookRetry for WebhookPolicy {
    fn max_attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }

    fn delay(&self, failed: u32) -> Duration {
        let factor = 6_u32.saturating_pow(failed.saturating_sub(1));
        self.initial.saturating_mul(factor).min(self.max)
    }
}
