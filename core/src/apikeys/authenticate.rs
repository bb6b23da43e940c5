//! From a presented key to the actor it stands for: lookup through the
//! cache, the grant (scopes the creator still holds), and a throttled
//! `last_used_at`.

use chrono::{DateTime, TimeDelta, Utc};
use platform_ports::identity::{API_KEY_PREFIX, ApiKey, ApiKeyError};
use platform_ports::model::{Actor, ApiKeyGrant};

use super::{ApiKeyManager, TOUCHED_MAX, api_key_cache_key, backend};

/// Length of a key: `plt_` + 43 characters of unpadded base64url (256 bits).
const KEY_LEN: usize = API_KEY_PREFIX.len() + 43;

impl ApiKeyManager {
    /// The actor of `presented`, `None` when it is not an active key.
    pub(super) async fn actor_of(&self, presented: &str) -> Result<Option<Actor>, ApiKeyError> {
        // Malformed input never reaches the cache or the database.
        if presented.len() != KEY_LEN || !presented.starts_with(API_KEY_PREFIX) {
            return Ok(None);
        }
        let now = self.clock.now();
        let Some(key) = self.lookup(presented).await? else {
            return Ok(None);
        };
        if !key.is_active(now) {
            return Ok(None);
        }
        // The creator's permissions now (cached, and dropped from the cache
        // on every role change and on deletion): the key loses what they lose
        // and never gains what they gain beyond its scopes.
        let held = self
            .permissions
            .user_permissions(key.tenant_id, key.created_by)
            .await
            .map_err(backend)?;
        let permissions = key.scopes.iter().filter(|s| held.contains(s)).cloned().collect();
        self.touch(&key, now).await;
        Ok(Some(Actor {
            user_id: key.created_by,
            roles: Vec::new(),
            tenant_id: key.tenant_id,
            session_id: None,
            api_key: Some(ApiKeyGrant {
                key_id: key.id,
                permissions,
            }),
        }))
    }

    /// The key with the hash of `presented`, from the cache or the
    /// repository (then cached). Unknown keys are not cached: the rate
    /// limit, not the cache, answers repeated guesses.
    async fn lookup(&self, presented: &str) -> Result<Option<ApiKey>, ApiKeyError> {
        let hash = self.opaque.hash(presented);
        let cache_key = api_key_cache_key(&hash);
        match self.cache.get(&cache_key).await {
            Ok(Some(bytes)) => match serde_json::from_slice::<ApiKey>(&bytes) {
                Ok(key) if key.key_hash == hash => return Ok(Some(key)),
                Ok(_) | Err(_) => tracing::warn!("unreadable cached API key; reloading"),
            },
            Ok(None) => {}
            Err(err) => tracing::warn!(error = %err, "API key cache unavailable; reading the repository"),
        }
        let Some(key) = self.keys.find_by_hash(&hash).await.map_err(backend)? else {
            return Ok(None);
        };
        match serde_json::to_vec(&key) {
            Ok(bytes) => {
                if let Err(err) = self.cache.set(&cache_key, bytes, Some(self.settings.cache_ttl)).await {
                    tracing::warn!(error = %err, "could not cache an API key");
                }
            }
            Err(err) => tracing::warn!(error = %err, "could not encode an API key for the cache"),
        }
        Ok(Some(key))
    }

    /// Records the use, at most once per `touch_interval` per key on this
    /// instance, and the repository's conditional write keeps it to about
    /// once per interval across instances. A failure is only logged: a
    /// missed timestamp must not refuse a valid key.
    async fn touch(&self, key: &ApiKey, now: DateTime<Utc>) {
        let interval = TimeDelta::from_std(self.settings.touch_interval).unwrap_or(TimeDelta::MAX);
        let not_before = now.checked_sub_signed(interval).unwrap_or(DateTime::<Utc>::MIN_UTC);
        {
            let mut touched = self.touched.lock();
            if touched.get(&key.id).is_some_and(|at| *at > not_before) {
                return;
            }
            if touched.len() >= TOUCHED_MAX {
                touched.clear();
            }
            touched.insert(key.id, now);
        }
        if let Err(err) = self.keys.touch(key.tenant_id, key.id, now, not_before).await {
            tracing::warn!(api_key_id = %key.id, error = %err, "could not record an API key's use");
        }
    }
}
