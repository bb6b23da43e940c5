//! The in-memory TTL cache: the embedded default and the fallback a Redis
//! cache uses while Redis is down.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use platform_ports::cache::{Cache, CacheError};
// tokio's clock follows paused time in tests and is `std`'s otherwise.
use tokio::time::Instant;

/// Shards split the lock so concurrent requests rarely wait on each other.
const SHARDS: usize = 16;
/// Every this many writes to a shard, its expired keys are swept, so keys
/// that are written once and never read again do not pile up.
const SWEEP_EVERY: u64 = 1024;

/// A key-value cache with TTLs held in this process.
///
/// Expired keys are dropped when read and by a sweep of the written shard
/// every 1024 writes; no background task is needed. Clones share the entries.
#[derive(Clone, shaku::Component)]
#[shaku(interface = Cache)]
pub struct MemoryCache {
    #[shaku(force_default)]
    shards: Arc<Shards>,
    #[shaku(force_default)]
    stats: Arc<Stats>,
}

struct Entry {
    value: Vec<u8>,
    expires_at: Option<Instant>,
}

impl Entry {
    fn is_live(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| now < at)
    }
}

/// foldhash, seeded per process: SipHash over every key was a visible share
/// of an authorized request (one permission lookup each), and a seeded hash
/// still keeps keys from being aimed at one bucket.
type RandomState = foldhash::fast::RandomState;

#[derive(Default)]
struct Shard {
    map: HashMap<String, Entry, RandomState>,
    writes: u64,
}

impl Shard {
    /// The live entry at `key`, removing it when it has expired.
    fn live(&mut self, key: &str, now: Instant) -> Option<&mut Entry> {
        if self.map.get(key).is_some_and(|e| !e.is_live(now)) {
            self.map.remove(key);
        }
        self.map.get_mut(key)
    }

    /// Counts a write and sweeps expired keys when the count comes round.
    fn wrote(&mut self, now: Instant) {
        self.writes = self.writes.wrapping_add(1);
        if self.writes.is_multiple_of(SWEEP_EVERY) {
            self.map.retain(|_, e| e.is_live(now));
        }
    }
}

struct Shards {
    hasher: RandomState,
    shards: Vec<Mutex<Shard>>,
}

impl Default for Shards {
    fn default() -> Self {
        Self {
            hasher: RandomState::default(),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }
}

impl Shards {
    fn lock(&self, key: &str) -> MutexGuard<'_, Shard> {
        // The modulo keeps the index in range, so the truncation is harmless.
        #[allow(clippy::cast_possible_truncation)]
        let index = (self.hasher.hash_one(key) % self.shards.len() as u64) as usize;
        // A poisoned shard still holds consistent entries: each write is one map call.
        self.shards[index].lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Default)]
struct Stats {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Stats {
    fn record(&self, hit: bool) {
        let counter = if hit { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

impl Default for MemoryCache {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryCache {
    /// An empty cache.
    #[must_use]
    pub fn new() -> Self {
        Self {
            shards: Arc::default(),
            stats: Arc::default(),
        }
    }

    /// Lookups (`get`, `exists`) that found a live value.
    #[must_use]
    pub fn hits(&self) -> u64 {
        self.stats.hits.load(Ordering::Relaxed)
    }

    /// Lookups (`get`, `exists`) that found nothing or an expired value.
    #[must_use]
    pub fn misses(&self) -> u64 {
        self.stats.misses.load(Ordering::Relaxed)
    }

    /// Live keys plus expired ones not yet swept (for diagnostics and tests).
    #[must_use]
    pub fn stored_len(&self) -> usize {
        self.shards
            .shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).map.len())
            .sum()
    }
}

/// When a value stored now with `ttl` expires; a TTL too large to represent never expires.
fn deadline(now: Instant, ttl: Option<Duration>) -> Option<Instant> {
    ttl.and_then(|ttl| now.checked_add(ttl))
}

/// Parses a stored counter the way Redis does: optional `-`, then ASCII digits.
fn parse_counter(value: &[u8]) -> Option<i64> {
    let digits = value.strip_prefix(b"-").unwrap_or(value);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let now = Instant::now();
        let value = self.shards.lock(key).live(key, now).map(|e| e.value.clone());
        self.stats.record(value.is_some());
        Ok(value)
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Option<Duration>) -> Result<(), CacheError> {
        let now = Instant::now();
        let mut shard = self.shards.lock(key);
        shard.map.insert(
            key.to_owned(),
            Entry {
                value,
                expires_at: deadline(now, ttl),
            },
        );
        shard.wrote(now);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.shards.lock(key).map.remove(key);
        Ok(())
    }

    async fn exists(&self, key: &str) -> Result<bool, CacheError> {
        let now = Instant::now();
        let found = self.shards.lock(key).live(key, now).is_some();
        self.stats.record(found);
        Ok(found)
    }

    async fn increment(&self, key: &str, ttl: Option<Duration>) -> Result<i64, CacheError> {
        let now = Instant::now();
        let mut shard = self.shards.lock(key);
        let next = if let Some(entry) = shard.live(key, now) {
            let current = parse_counter(&entry.value).ok_or(CacheError::NotAnInteger)?;
            let next = current
                .checked_add(1)
                .ok_or_else(|| CacheError::Backend("increment would overflow an i64".into()))?;
            // The TTL is left alone: the window was fixed when the key was created.
            entry.value = next.to_string().into_bytes();
            next
        } else {
            shard.map.insert(
                key.to_owned(),
                Entry {
                    value: b"1".to_vec(),
                    expires_at: deadline(now, ttl),
                },
            );
            1
        };
        shard.wrote(now);
        Ok(next)
    }

    async fn ttl(&self, key: &str) -> Result<Option<Duration>, CacheError> {
        let now = Instant::now();
        let remaining = self
            .shards
            .lock(key)
            .live(key, now)
            .and_then(|e| e.expires_at)
            .map(|at| at.saturating_duration_since(now));
        Ok(remaining)
    }
}

#[cfg(test)]
mod tests;
