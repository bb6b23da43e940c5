//! The switch between Redis and the in-memory fallback: one warning when
//! Redis is lost, a background retry every `retry_interval`, one notice when
//! it is back.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::Duration;

use deadpool_redis::redis;
use platform_adapter_memory::MemoryCache;
use platform_ports::BoxError;

use crate::link::{Failure, Link};
use crate::metrics::Lookups;

/// What the health checker reports while the fallback serves.
pub(crate) const DEGRADED: &str = "redis unreachable; serving from the in-memory cache";

/// Keys remembered per outage; past this, the rest are left to their TTLs.
const MAX_CHANGED_KEYS: usize = 100_000;
/// Keys per `DEL` when Redis is back.
const DEL_BATCH: usize = 512;

/// Keys written to the fallback during an outage.
#[derive(Default)]
struct Changed {
    keys: HashSet<String>,
    /// More than [`MAX_CHANGED_KEYS`] changed; some are not in `keys`.
    overflowed: bool,
}

/// State shared by a cache's clones, its health checker and its retry task.
pub(crate) struct Shared {
    pub(crate) link: Link,
    pub(crate) lookups: Lookups,
    target: String,
    retry_interval: Duration,
    on_fallback: AtomicBool,
    fallback: RwLock<MemoryCache>,
    changed: Mutex<Changed>,
}

impl Shared {
    pub(crate) fn new(link: Link, target: String, retry_interval: Duration, fallback: MemoryCache) -> Self {
        Self {
            link,
            lookups: Lookups::default(),
            target,
            retry_interval,
            on_fallback: AtomicBool::new(false),
            fallback: RwLock::new(fallback),
            changed: Mutex::default(),
        }
    }

    /// Whether the fallback is serving.
    pub(crate) fn on_fallback(&self) -> bool {
        self.on_fallback.load(Ordering::Acquire)
    }

    /// The fallback, when it is serving.
    pub(crate) fn active_fallback(&self) -> Option<MemoryCache> {
        self.on_fallback().then(|| self.fallback())
    }

    fn fallback(&self) -> MemoryCache {
        self.fallback.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Switches to the fallback after `cause` (the first caller to see the
    /// outage logs it and starts the retries) and returns it.
    pub(crate) fn fail_over(self: &Arc<Self>, cause: &BoxError) -> MemoryCache {
        if self
            .on_fallback
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            tracing::warn!(
                redis = %self.target,
                error = %cause,
                retry_every = ?self.retry_interval,
                "redis unreachable; serving from the in-memory cache until it answers again"
            );
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn(retry(Arc::downgrade(self), self.retry_interval));
                }
                Err(_) => {
                    // No runtime to retry on: try Redis again on the next request instead.
                    tracing::error!(redis = %self.target, "no tokio runtime to retry redis on");
                    self.on_fallback.store(false, Ordering::Release);
                }
            }
        }
        self.fallback()
    }

    /// Remembers that `key` changed in the fallback, so Redis's older copy is
    /// dropped when it is back (an invalidation made during the outage must
    /// not be undone by the value Redis kept).
    pub(crate) fn changed_on_fallback(&self, key: &str) {
        let mut changed = self.changed.lock().unwrap_or_else(PoisonError::into_inner);
        if changed.keys.len() < MAX_CHANGED_KEYS {
            changed.keys.insert(key.to_owned());
        } else if !changed.keys.contains(key) {
            changed.overflowed = true;
        }
    }

    /// Goes back to Redis when it answers.
    async fn try_return(&self) -> Result<(), BoxError> {
        self.link.ping().await.map_err(Failure::into_error)?;
        self.forget_changed().await?;
        self.on_fallback.store(false, Ordering::Release);
        // A fresh fallback, so the next outage does not serve this one's values.
        *self.fallback.write().unwrap_or_else(PoisonError::into_inner) = MemoryCache::new();
        // Requests that took the fallback just before the switch.
        if let Err(err) = self.forget_changed().await {
            tracing::warn!(redis = %self.target, error = %err, "could not drop keys changed during the redis outage");
        }
        tracing::info!(redis = %self.target, "redis reachable again; serving the cache from redis");
        Ok(())
    }

    /// Deletes from Redis every key changed on the fallback; on failure they
    /// are kept for the next attempt.
    async fn forget_changed(&self) -> Result<(), BoxError> {
        let Changed { keys, overflowed } =
            std::mem::take(&mut *self.changed.lock().unwrap_or_else(PoisonError::into_inner));
        let keys: Vec<String> = keys.into_iter().collect();
        for batch in keys.chunks(DEL_BATCH) {
            let mut del = redis::cmd("DEL");
            for key in batch {
                del.arg(key);
            }
            if let Err(failure) = self.link.query::<i64>(&del).await {
                let mut changed = self.changed.lock().unwrap_or_else(PoisonError::into_inner);
                changed.keys.extend(keys);
                changed.overflowed |= overflowed;
                return Err(failure.into_error());
            }
        }
        if overflowed {
            tracing::warn!(
                redis = %self.target,
                "more than {MAX_CHANGED_KEYS} keys changed during the redis outage; \
                 redis may serve older values for the rest until their TTLs end"
            );
        }
        Ok(())
    }
}

/// Tries Redis every `every` until it answers or the cache is dropped.
async fn retry(shared: Weak<Shared>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        match shared.try_return().await {
            Ok(()) => return,
            Err(err) => {
                tracing::debug!(redis = %shared.target, error = %err, "redis still unreachable");
            }
        }
    }
}
