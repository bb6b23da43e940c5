//! [`FallbackCache`]: a primary cache (Redis) that a fallback (memory) stands
//! in for while the primary is unreachable. One warning when the primary is
//! lost, a background retry every `retry_interval`, one notice when it is
//! back; the fallback is then dropped, so none of its entries outlive the
//! outage.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::Duration;

use async_trait::async_trait;
use platform_ports::BoxError;
use platform_ports::cache::{Cache, CacheError};
use platform_ports::health::{HealthChecker, HealthStatus};
use platform_ports::metrics::Metrics;

use super::lookups::Lookups;

/// Keys remembered per outage; past this, the rest are left to their TTLs.
const MAX_CHANGED_KEYS: usize = 100_000;
/// Deletions in flight at once when the primary is back.
const DELETE_CONCURRENCY: usize = 64;
/// What the health check and the retry ask the primary: the port has no
/// ping, and `exists` on a key nobody writes is the cheapest round trip.
const PROBE_KEY: &str = "platform:cache:probe";

/// How the fallback behaves.
#[derive(Clone, Debug)]
pub struct FallbackSettings {
    /// The primary as log lines and the health message name it
    /// (`redis://cache:6379`; never with credentials).
    pub primary: String,
    /// How often the primary is tried again while the fallback serves.
    pub retry_interval: Duration,
}

/// Makes an empty fallback; one per outage.
type FreshFallback = Box<dyn Fn() -> Arc<dyn Cache> + Send + Sync>;

/// A cache served by `primary`, and by a fallback while `primary` answers
/// [`CacheError::Unavailable`].
///
/// Errors the primary answers with (a wrong type, a non-integer counter)
/// are returned, not treated as an outage. Keys written during an outage
/// are deleted from the primary when it is back, so an invalidation made
/// meanwhile is not undone by the value the primary kept. Lookups are
/// counted wherever they were served. Needs a tokio runtime for the retry;
/// clones share everything.
#[derive(Clone)]
pub struct FallbackCache {
    shared: Arc<Shared>,
}

/// Keys written to the fallback during an outage.
#[derive(Default)]
struct Changed {
    keys: HashSet<String>,
    /// More than [`MAX_CHANGED_KEYS`] changed; some are not in `keys`.
    overflowed: bool,
}

/// State shared by a cache's clones, its health checker and its retry task.
struct Shared {
    primary: Arc<dyn Cache>,
    fresh_fallback: FreshFallback,
    fallback: RwLock<Arc<dyn Cache>>,
    on_fallback: AtomicBool,
    changed: Mutex<Changed>,
    lookups: Lookups,
    settings: FallbackSettings,
}

impl FallbackCache {
    /// `primary`, with a cache made by `fresh_fallback` standing in while it
    /// is unreachable (a new one per outage).
    pub fn new(
        primary: Arc<dyn Cache>,
        fresh_fallback: impl Fn() -> Arc<dyn Cache> + Send + Sync + 'static,
        settings: FallbackSettings,
    ) -> Self {
        let fallback = fresh_fallback();
        Self {
            shared: Arc::new(Shared {
                primary,
                fresh_fallback: Box::new(fresh_fallback),
                fallback: RwLock::new(fallback),
                on_fallback: AtomicBool::new(false),
                changed: Mutex::default(),
                lookups: Lookups::default(),
                settings,
            }),
        }
    }

    /// Counts hits and misses as `cache.requests{result}` and exports
    /// `cache.hit_ratio` (instruments are created once; a second call is ignored).
    #[must_use]
    pub fn with_metrics(self, metrics: Arc<dyn Metrics>) -> Self {
        self.shared.lookups.export_to(&*metrics);
        self
    }

    /// A health checker: up on the primary, degraded on the fallback.
    #[must_use]
    pub fn health_checker(&self) -> FallbackHealthChecker {
        FallbackHealthChecker {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Whether the fallback is serving.
    #[must_use]
    pub fn is_on_fallback(&self) -> bool {
        self.shared.on_fallback()
    }

    /// Lookups (`get`, `exists`) that found a live value.
    #[must_use]
    pub fn hits(&self) -> u64 {
        self.shared.lookups.hits()
    }

    /// Lookups (`get`, `exists`) that found nothing.
    #[must_use]
    pub fn misses(&self) -> u64 {
        self.shared.lookups.misses()
    }

    /// Runs `op` on the primary unless the fallback is serving; an outage
    /// switches to the fallback and runs `op` there. `written` is the key a
    /// write changes, remembered when the fallback takes it.
    async fn serve<T, F, Fut>(&self, written: Option<&str>, op: F) -> Result<T, CacheError>
    where
        F: Fn(Arc<dyn Cache>) -> Fut,
        Fut: Future<Output = Result<T, CacheError>>,
    {
        let fallback = match self.shared.active_fallback() {
            Some(fallback) => fallback,
            None => match op(Arc::clone(&self.shared.primary)).await {
                Err(CacheError::Unavailable(cause)) => self.shared.fail_over(&cause),
                served => return served,
            },
        };
        if let Some(key) = written {
            self.shared.changed_on_fallback(key);
        }
        op(fallback).await
    }
}

#[async_trait]
impl Cache for FallbackCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let value = self.serve(None, |cache| async move { cache.get(key).await }).await?;
        self.shared.lookups.record(value.is_some());
        Ok(value)
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Option<Duration>) -> Result<(), CacheError> {
        // The port takes the value by value; a copy is what lets the fallback
        // store it when the primary turns out to be gone.
        let value = &value;
        self.serve(
            Some(key),
            |cache| async move { cache.set(key, value.clone(), ttl).await },
        )
        .await
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.serve(Some(key), |cache| async move { cache.delete(key).await })
            .await
    }

    async fn exists(&self, key: &str) -> Result<bool, CacheError> {
        let found = self.serve(None, |cache| async move { cache.exists(key).await }).await?;
        self.shared.lookups.record(found);
        Ok(found)
    }

    async fn increment(&self, key: &str, ttl: Option<Duration>) -> Result<i64, CacheError> {
        self.serve(Some(key), |cache| async move { cache.increment(key, ttl).await })
            .await
    }

    async fn ttl(&self, key: &str) -> Result<Option<Duration>, CacheError> {
        self.serve(None, |cache| async move { cache.ttl(key).await }).await
    }
}

impl Shared {
    fn on_fallback(&self) -> bool {
        self.on_fallback.load(Ordering::Acquire)
    }

    /// The fallback, when it is serving.
    fn active_fallback(&self) -> Option<Arc<dyn Cache>> {
        self.on_fallback().then(|| self.fallback())
    }

    fn fallback(&self) -> Arc<dyn Cache> {
        Arc::clone(&self.fallback.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// What the health check reports while the fallback serves.
    fn degraded(&self) -> HealthStatus {
        HealthStatus::Degraded(format!(
            "{} unreachable; serving from the fallback cache",
            self.settings.primary
        ))
    }

    /// Switches to the fallback after `cause` (the first caller to see the
    /// outage logs it and starts the retries) and returns it.
    fn fail_over(self: &Arc<Self>, cause: &BoxError) -> Arc<dyn Cache> {
        if self
            .on_fallback
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            tracing::warn!(
                primary = %self.settings.primary,
                error = %cause,
                retry_every = ?self.settings.retry_interval,
                "cache unreachable; serving from the fallback until it answers again"
            );
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn(retry(Arc::downgrade(self), self.settings.retry_interval));
                }
                Err(_) => {
                    // No runtime to retry on: try the primary again on the next request instead.
                    tracing::error!(primary = %self.settings.primary, "no tokio runtime to retry the cache on");
                    self.on_fallback.store(false, Ordering::Release);
                }
            }
        }
        self.fallback()
    }

    /// Remembers that `key` changed in the fallback, so the primary's older
    /// copy is dropped when it is back.
    fn changed_on_fallback(&self, key: &str) {
        let mut changed = self.changed.lock().unwrap_or_else(PoisonError::into_inner);
        if changed.keys.len() < MAX_CHANGED_KEYS {
            changed.keys.insert(key.to_owned());
        } else if !changed.keys.contains(key) {
            changed.overflowed = true;
        }
    }

    /// Goes back to the primary when it answers.
    async fn try_return(&self) -> Result<(), CacheError> {
        self.primary.exists(PROBE_KEY).await?;
        self.forget_changed().await?;
        self.on_fallback.store(false, Ordering::Release);
        // A fresh fallback, so the next outage does not serve this one's values.
        *self.fallback.write().unwrap_or_else(PoisonError::into_inner) = (self.fresh_fallback)();
        // Requests that took the fallback just before the switch.
        if let Err(err) = self.forget_changed().await {
            tracing::warn!(primary = %self.settings.primary, error = %err, "could not drop keys changed during the cache outage");
        }
        tracing::info!(primary = %self.settings.primary, "cache reachable again; serving from it");
        Ok(())
    }

    /// Deletes from the primary every key changed on the fallback; on
    /// failure they are all kept for the next attempt.
    async fn forget_changed(&self) -> Result<(), CacheError> {
        let Changed { keys, overflowed } =
            std::mem::take(&mut *self.changed.lock().unwrap_or_else(PoisonError::into_inner));
        let keys: Vec<String> = keys.into_iter().collect();
        let mut failed = None;
        for batch in keys.chunks(DELETE_CONCURRENCY) {
            let deletions = batch.iter().map(|key| self.primary.delete(key));
            if let Some(Err(err)) = futures::future::join_all(deletions)
                .await
                .into_iter()
                .find(Result::is_err)
            {
                failed = Some(err);
                break;
            }
        }
        if let Some(err) = failed {
            let mut changed = self.changed.lock().unwrap_or_else(PoisonError::into_inner);
            changed.keys.extend(keys);
            changed.overflowed |= overflowed;
            return Err(err);
        }
        if overflowed {
            tracing::warn!(
                primary = %self.settings.primary,
                "more than {MAX_CHANGED_KEYS} keys changed during the cache outage; \
                 the primary may serve older values for the rest until their TTLs end"
            );
        }
        Ok(())
    }
}

/// Tries the primary every `every` until it answers or the cache is dropped.
async fn retry(shared: Weak<Shared>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        match shared.try_return().await {
            Ok(()) => return,
            Err(err) => {
                tracing::debug!(primary = %shared.settings.primary, error = %err, "cache still unreachable");
            }
        }
    }
}

/// Checks the primary behind a [`FallbackCache`].
///
/// On the primary it probes it, so an outage is noticed (and the fallback
/// takes over) even when no request has touched the cache. While the
/// fallback serves it reports degraded without probing: the retry task does
/// that.
pub struct FallbackHealthChecker {
    shared: Arc<Shared>,
}

#[async_trait]
impl HealthChecker for FallbackHealthChecker {
    async fn check(&self) -> Result<HealthStatus, BoxError> {
        if self.shared.on_fallback() {
            return Ok(self.shared.degraded());
        }
        match self.shared.primary.exists(PROBE_KEY).await {
            Ok(_) => Ok(HealthStatus::Up),
            Err(CacheError::Unavailable(cause)) => {
                self.shared.fail_over(&cause);
                Ok(self.shared.degraded())
            }
            Err(err) => Err(Box::new(err)),
        }
    }
}
