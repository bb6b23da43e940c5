//! Fixed-window rate limits over the cache port, per client address and per
//! account. With Redis behind the cache, every instance shares the counters;
//! when Redis is down the cache's in-memory fallback keeps limiting locally.

use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use platform_ports::cache::Cache;
use platform_ports::ratelimit::{LimitedAction, RateLimited, RateLimiter};

/// One action's limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitRule {
    /// Attempts per window from one client address (0: unlimited).
    pub per_ip: u32,
    /// Attempts per window for one account (0: unlimited).
    pub per_account: u32,
    /// The window.
    pub window: Duration,
}

/// Limits per action; actions without a rule are not limited.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RateLimitSettings {
    /// Off: every attempt passes (benchmarks, trusted networks).
    pub enabled: bool,
    /// The rules.
    pub rules: BTreeMap<&'static str, RateLimitRule>,
}

/// [`RateLimiter`] over the [`Cache`] port (`ratelimit:{key}:{action}`).
#[derive(shaku::Component)]
#[shaku(interface = RateLimiter)]
pub struct CacheRateLimiter {
    #[shaku(inject)]
    cache: Arc<dyn Cache>,
    settings: RateLimitSettings,
}

impl CacheRateLimiter {
    /// A limiter over `cache`.
    pub fn new(cache: Arc<dyn Cache>, settings: RateLimitSettings) -> Self {
        Self { cache, settings }
    }

    /// Counts one attempt under `key`; `Some(retry_after)` when over `limit`.
    async fn hit(&self, key: String, limit: u32, window: Duration) -> Option<Duration> {
        if limit == 0 {
            return None;
        }
        match self.cache.increment(&key, Some(window)).await {
            Ok(count) if count > i64::from(limit) => {
                let left = self.cache.ttl(&key).await.ok().flatten().unwrap_or(window);
                Some(left.max(Duration::from_secs(1)))
            }
            Ok(_) => None,
            Err(err) => {
                // A broken counter must not lock everybody out.
                tracing::warn!(key = %key, error = %err, "rate-limit counter unavailable; allowing the attempt");
                None
            }
        }
    }
}

/// Accounts are keyed by a fixed-seed hash: no email or token in the cache,
/// and the same key on every instance.
fn account_key(account: &str) -> String {
    let hash = foldhash::fast::FixedState::with_seed(0x5EED_1A7E).hash_one(account.trim().to_lowercase());
    format!("acct-{hash:016x}")
}

#[async_trait]
impl RateLimiter for CacheRateLimiter {
    async fn check(
        &self,
        action: LimitedAction,
        client_ip: Option<IpAddr>,
        account: Option<String>,
    ) -> Result<(), RateLimited> {
        if !self.settings.enabled {
            return Ok(());
        }
        let Some(rule) = self.settings.rules.get(action.as_str()).copied() else {
            return Ok(());
        };
        let name = action.as_str();
        let by_ip = match client_ip {
            Some(ip) => {
                self.hit(format!("ratelimit:ip-{ip}:{name}"), rule.per_ip, rule.window)
                    .await
            }
            None => None,
        };
        let by_account = match account.as_deref().filter(|a| !a.is_empty()) {
            Some(a) => {
                self.hit(
                    format!("ratelimit:{}:{name}", account_key(a)),
                    rule.per_account,
                    rule.window,
                )
                .await
            }
            None => None,
        };
        match by_ip.into_iter().chain(by_account).max() {
            Some(retry_after) => Err(RateLimited { retry_after }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use platform_ports::cache::{CacheError, MockCache};

    use super::*;

    fn settings(per_ip: u32, per_account: u32) -> RateLimitSettings {
        RateLimitSettings {
            enabled: true,
            rules: BTreeMap::from([(
                "login",
                RateLimitRule {
                    per_ip,
                    per_account,
                    window: Duration::from_secs(60),
                },
            )]),
        }
    }

    /// A counting cache: a HashMap of counters behind the mock.
    fn counting_cache() -> MockCache {
        let counts = Arc::new(Mutex::new(BTreeMap::<String, i64>::new()));
        let mut cache = MockCache::new();
        let c = counts.clone();
        cache.expect_increment().returning(move |key, _| {
            let mut m = c.lock().unwrap();
            let v = m.entry(key.to_owned()).or_insert(0);
            *v += 1;
            Ok(*v)
        });
        cache.expect_ttl().returning(|_| Ok(Some(Duration::from_secs(42))));
        cache
    }

    fn ip() -> Option<IpAddr> {
        Some("10.0.0.1".parse().unwrap())
    }

    #[tokio::test]
    async fn refuses_past_the_per_account_limit_with_the_window_left() {
        let limiter = CacheRateLimiter::new(Arc::new(counting_cache()), settings(100, 2));
        for _ in 0..2 {
            limiter
                .check(LimitedAction::Login, ip(), Some("Ada@Example.com".into()))
                .await
                .unwrap();
        }
        let err = limiter
            .check(LimitedAction::Login, ip(), Some("ada@example.com".into()))
            .await
            .unwrap_err();
        assert_eq!(err.retry_after, Duration::from_secs(42));
        // Another account from the same address still passes.
        limiter
            .check(LimitedAction::Login, ip(), Some("bob@example.com".into()))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn refuses_past_the_per_ip_limit() {
        let limiter = CacheRateLimiter::new(Arc::new(counting_cache()), settings(2, 100));
        limiter
            .check(LimitedAction::Login, ip(), Some("a@x.io".into()))
            .await
            .unwrap();
        limiter
            .check(LimitedAction::Login, ip(), Some("b@x.io".into()))
            .await
            .unwrap();
        assert!(
            limiter
                .check(LimitedAction::Login, ip(), Some("c@x.io".into()))
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn unlisted_actions_and_disabled_limits_pass() {
        let limiter = CacheRateLimiter::new(Arc::new(MockCache::new()), settings(1, 1));
        limiter.check(LimitedAction::Refresh, ip(), None).await.unwrap();
        let off = CacheRateLimiter::new(
            Arc::new(MockCache::new()),
            RateLimitSettings {
                enabled: false,
                ..settings(1, 1)
            },
        );
        off.check(LimitedAction::Login, ip(), None).await.unwrap();
    }

    #[tokio::test]
    async fn a_broken_cache_lets_attempts_through() {
        let mut cache = MockCache::new();
        cache
            .expect_increment()
            .returning(|_, _| Err(CacheError::Backend("down".into())));
        let limiter = CacheRateLimiter::new(Arc::new(cache), settings(1, 1));
        for _ in 0..3 {
            limiter
                .check(LimitedAction::Login, ip(), Some("a@x.io".into()))
                .await
                .unwrap();
        }
    }

    #[test]
    fn account_keys_hide_the_account_and_ignore_case() {
        let k = account_key("Ada@Example.com");
        assert_eq!(k, account_key(" ada@example.com"));
        assert!(!k.contains("ada"));
    }
}
