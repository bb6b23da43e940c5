//! How often the sink may send: a local budget (events per minute) and the
//! pauses the server asks for (429, `Retry-After`, `X-Sentry-Rate-Limits`)
//! or that an unreachable server earns (exponential, capped).

use std::time::{Duration, Instant};

use http::HeaderMap;

/// The longest pause after failures: a server back from an outage is used
/// again within a minute.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Why an event was not sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hold {
    /// The local budget or the server's rate limit.
    RateLimited,
    /// The server did not answer lately; waiting before the next attempt.
    Unreachable,
}

/// The sending budget and pauses; owned by the sink's one worker task.
pub(crate) struct Limits {
    per_minute: f64,
    tokens: f64,
    refilled: Instant,
    paused_until: Option<(Instant, Hold)>,
    failures: u32,
}

impl Limits {
    pub(crate) fn new(per_minute: u32) -> Self {
        let per_minute = f64::from(per_minute.max(1));
        Self {
            per_minute,
            tokens: per_minute,
            refilled: Instant::now(),
            paused_until: None,
            failures: 0,
        }
    }

    /// Takes one send from the budget, or says why not.
    pub(crate) fn admit(&mut self, now: Instant) -> Result<(), Hold> {
        if let Some((until, why)) = self.paused_until {
            if now < until {
                return Err(why);
            }
            self.paused_until = None;
        }
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_minute / 60.0).min(self.per_minute);
        self.refilled = now;
        if self.tokens < 1.0 {
            return Err(Hold::RateLimited);
        }
        self.tokens -= 1.0;
        Ok(())
    }

    /// The server took the event.
    pub(crate) fn succeeded(&mut self) {
        self.failures = 0;
    }

    /// The server did not answer (or failed): pause 1 s, 2 s, 4 s … up to a minute.
    pub(crate) fn failed(&mut self, now: Instant) {
        let wait = Duration::from_secs(1u64 << self.failures.min(6)).min(MAX_BACKOFF);
        self.failures = self.failures.saturating_add(1);
        self.paused_until = Some((now + wait, Hold::Unreachable));
    }

    /// The server limited us: pause as long as it asks (60 s when it does not say).
    pub(crate) fn limited(&mut self, now: Instant, headers: &HeaderMap) {
        let wait = server_wait(headers).unwrap_or(Duration::from_secs(60));
        self.paused_until = Some((now + wait, Hold::RateLimited));
    }
}

/// The pause the server asks for: the longest `X-Sentry-Rate-Limits` entry
/// covering errors (or all categories), else `Retry-After` in seconds.
pub(crate) fn server_wait(headers: &HeaderMap) -> Option<Duration> {
    if let Some(limits) = headers.get("x-sentry-rate-limits").and_then(|v| v.to_str().ok()) {
        let longest = limits
            .split(',')
            .filter_map(|entry| {
                let mut fields = entry.trim().split(':');
                let secs: u64 = fields.next()?.trim().parse().ok()?;
                let categories = fields.next().unwrap_or("");
                let covers_errors =
                    categories.is_empty() || categories.split(';').any(|c| matches!(c, "error" | "default"));
                covers_errors.then_some(secs)
            })
            .max();
        if let Some(secs) = longest {
            return Some(Duration::from_secs(secs));
        }
    }
    let retry_after = headers.get("retry-after")?.to_str().ok()?.trim().parse::<f64>().ok()?;
    (retry_after.is_finite() && retry_after >= 0.0).then(|| Duration::from_secs_f64(retry_after.min(3600.0)))
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn the_budget_refills_over_the_minute() {
        let start = Instant::now();
        let mut limits = Limits::new(2);
        assert_eq!(limits.admit(start), Ok(()));
        assert_eq!(limits.admit(start), Ok(()));
        assert_eq!(limits.admit(start), Err(Hold::RateLimited));
        assert_eq!(limits.admit(start + Duration::from_secs(30)), Ok(()));
    }

    #[test]
    fn failures_pause_with_a_growing_backoff() {
        let start = Instant::now();
        let mut limits = Limits::new(100);
        limits.failed(start);
        assert_eq!(limits.admit(start), Err(Hold::Unreachable));
        assert_eq!(limits.admit(start + Duration::from_millis(1001)), Ok(()));
        limits.failed(start);
        assert_eq!(
            limits.admit(start + Duration::from_millis(1500)),
            Err(Hold::Unreachable)
        );
        limits.succeeded();
        limits.failed(start);
        assert_eq!(limits.admit(start + Duration::from_millis(1001)), Ok(()));
    }

    #[test]
    fn the_server_says_how_long_to_wait() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(server_wait(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            "x-sentry-rate-limits",
            HeaderValue::from_static("30:transaction:key, 120:error;default:organization, 10::key"),
        );
        assert_eq!(server_wait(&headers), Some(Duration::from_secs(120)));
        let mut limits = Limits::new(100);
        let now = Instant::now();
        limits.limited(now, &headers);
        assert_eq!(limits.admit(now + Duration::from_secs(119)), Err(Hold::RateLimited));
        assert_eq!(limits.admit(now + Duration::from_secs(121)), Ok(()));
    }
}
