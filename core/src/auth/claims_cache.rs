//! Verified access-token claims, remembered per token string until they expire.
//!
//! Every request verifies its bearer token; a client sends the same token for
//! up to its lifetime, so remembering the verified claims turns a JSON parse
//! and a signature check into a hash lookup. The cache is keyed by the whole
//! token string, so a token that differs in a single byte (tampered,
//! re-signed) is never answered from it.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;

use parking_lot::RwLock;
use platform_ports::auth::AccessClaims;

/// Independent locks, so concurrent requests rarely wait on each other.
const SHARDS: usize = 32;

type Map = HashMap<Box<str>, Arc<AccessClaims>, foldhash::fast::RandomState>;

/// A bounded, sharded map from token string to its verified claims.
pub(crate) struct ClaimsCache {
    shards: Box<[RwLock<Map>]>,
    /// Entries one shard may hold; `0` disables the cache.
    per_shard: usize,
    /// Picks the shard; seeded per process so keys cannot be aimed at one shard.
    hasher: foldhash::fast::RandomState,
}

impl ClaimsCache {
    /// A cache holding at most about `capacity` tokens (`0` caches nothing).
    pub(crate) fn new(capacity: usize) -> Self {
        Self::with_shards(capacity, SHARDS)
    }

    fn with_shards(capacity: usize, shards: usize) -> Self {
        let shards = shards.max(1);
        let per_shard = capacity.div_ceil(shards);
        let shards = (0..shards)
            .map(|_| RwLock::new(Map::default()))
            .collect::<Vec<_>>()
            .into_boxed_slice();
        Self {
            shards,
            per_shard,
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    fn shard(&self, token: &str) -> &RwLock<Map> {
        // The high bits: the maps inside use the low ones for their buckets.
        let hash = self.hasher.hash_one(token);
        let index = usize::try_from(hash >> 32).unwrap_or_default() % self.shards.len();
        &self.shards[index]
    }

    /// The claims of `token` if they were verified and are still live at `now`
    /// (seconds since the epoch). An expired entry is dropped, so the caller
    /// verifies the token again and reports the expiry.
    pub(crate) fn get(&self, token: &str, now: i64) -> Option<Arc<AccessClaims>> {
        if self.per_shard == 0 {
            return None;
        }
        let shard = self.shard(token);
        {
            let map = shard.read();
            match map.get(token) {
                None => return None,
                Some(claims) if claims.exp > now => return Some(Arc::clone(claims)),
                Some(_) => {}
            }
        }
        let mut map = shard.write();
        // Another request may have replaced it with a fresh entry meanwhile.
        if map.get(token).is_some_and(|claims| claims.exp <= now) {
            map.remove(token);
        }
        None
    }

    /// Remembers verified claims. A full shard first drops its expired
    /// entries and, if still full, everything: a burst of distinct tokens
    /// costs re-verifications, never unbounded memory.
    pub(crate) fn insert(&self, token: &str, claims: Arc<AccessClaims>, now: i64) {
        if self.per_shard == 0 || claims.exp <= now {
            return;
        }
        let mut map = self.shard(token).write();
        if map.len() >= self.per_shard && !map.contains_key(token) {
            map.retain(|_, cached| cached.exp > now);
            if map.len() >= self.per_shard {
                map.clear();
            }
        }
        map.insert(token.into(), claims);
    }

    /// How many tokens are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|shard| shard.read().len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use platform_ports::model::{TenantId, UserId};

    use super::*;

    fn claims(exp: i64) -> Arc<AccessClaims> {
        Arc::new(AccessClaims {
            sub: UserId::new(),
            roles: vec![],
            tenant_id: TenantId::DEFAULT,
            exp,
            iat: 0,
            jti: "j".into(),
            iss: "i".into(),
            aud: "a".into(),
            sid: None,
        })
    }

    #[test]
    fn answers_live_entries_and_drops_expired_ones() {
        let cache = ClaimsCache::new(100);
        cache.insert("t", claims(10), 5);
        assert_eq!(cache.get("t", 9).map(|c| c.exp), Some(10));
        assert!(cache.get("t", 10).is_none());
        assert_eq!(cache.len(), 0);
        assert!(cache.get("other", 0).is_none());
    }

    #[test]
    fn never_stores_already_expired_claims() {
        let cache = ClaimsCache::new(100);
        cache.insert("t", claims(5), 5);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn stays_bounded() {
        let cache = ClaimsCache::new(64);
        for i in 0..10_000 {
            cache.insert(&format!("token-{i}"), claims(100), 0);
        }
        assert!(cache.len() <= 64, "{} entries", cache.len());
        assert!(cache.len() > 0);
    }

    #[test]
    fn full_shard_evicts_expired_entries_first_then_clears() {
        let cache = ClaimsCache::with_shards(2, 1);
        cache.insert("old", claims(10), 0);
        cache.insert("live", claims(100), 0);
        cache.insert("newer", claims(100), 50);
        assert!(cache.get("live", 50).is_some(), "a live entry was evicted");
        assert!(cache.get("newer", 50).is_some());
        assert!(cache.get("old", 5).is_none(), "the expired entry survived");

        cache.insert("newest", claims(100), 50);
        assert_eq!(cache.len(), 1);
        assert!(cache.get("newest", 50).is_some());
    }

    #[test]
    fn zero_capacity_disables_caching() {
        let cache = ClaimsCache::new(0);
        cache.insert("t", claims(10), 0);
        assert!(cache.get("t", 0).is_none());
    }
}
