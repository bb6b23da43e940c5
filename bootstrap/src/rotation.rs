//! Secret rotation without a restart: the refresh service re-reads the
//! secret stores every `secrets.refresh_interval` and hands each changed key
//! to whatever registered for it ([`crate::compose::Parts::rotation`]); keys
//! nobody registered for are logged as needing a restart (by name only).
//!
//! [`RotatingTokenCodec`] is how `auth.jwt.secret` rotates: new tokens are
//! signed with the new key, and tokens signed with the previous one keep
//! verifying for one access-token lifetime, so no one is logged out.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use platform_ports::BoxError;
use platform_ports::auth::{AccessClaims, TokenCodec, TokenError};
use platform_ports::lifecycle::BackgroundService;
use platform_ports::secrets::{SecretSet, SecretSource};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::compose::Rotate;
use crate::compose::secrets::SecretStores;

struct Keys {
    current: Arc<dyn TokenCodec>,
    /// The key before the last rotation, and until when it still verifies.
    previous: Option<(Arc<dyn TokenCodec>, Instant)>,
}

/// A token codec whose key can be replaced while it serves. Clones share the keys.
#[derive(Clone)]
pub struct RotatingTokenCodec {
    keys: Arc<RwLock<Keys>>,
    /// How long the previous key keeps verifying (the access-token lifetime).
    grace: Duration,
}

impl RotatingTokenCodec {
    /// Serves `current`; after a rotation the old key verifies for `grace`.
    #[must_use]
    pub fn new(current: Arc<dyn TokenCodec>, grace: Duration) -> Self {
        Self {
            keys: Arc::new(RwLock::new(Keys {
                current,
                previous: None,
            })),
            grace,
        }
    }

    /// Signs with `next` from now on; the current key becomes the previous one.
    pub fn rotate(&self, next: Arc<dyn TokenCodec>) {
        let mut keys = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        let old = std::mem::replace(&mut keys.current, next);
        keys.previous = Some((old, Instant::now() + self.grace));
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Keys> {
        // A poisoned lock only means a rotation panicked; the keys are intact.
        self.keys.read().unwrap_or_else(PoisonError::into_inner)
    }
}

impl TokenCodec for RotatingTokenCodec {
    fn encode(&self, claims: &AccessClaims) -> Result<String, TokenError> {
        self.read().current.encode(claims)
    }

    fn decode(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let keys = self.read();
        match keys.current.decode(token) {
            Ok(claims) => Ok(claims),
            // Only a signature the current key does not know can be the
            // previous key's; an expired or malformed token stays refused.
            Err(TokenError::BadSignature) => match &keys.previous {
                Some((previous, until)) if Instant::now() < *until => previous.decode(token),
                _ => Err(TokenError::BadSignature),
            },
            Err(err) => Err(err),
        }
    }

    fn jwks(&self) -> Option<serde_json::Value> {
        self.read().current.jwks()
    }
}

/// Re-reads the stores on an interval and applies what changed.
pub struct SecretRefresh {
    inner: Arc<RefreshInner>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

struct RefreshInner {
    stores: SecretStores,
    keys: Vec<&'static str>,
    interval: Duration,
    rotations: Vec<(&'static str, Rotate)>,
    last: Mutex<SecretSet>,
}

impl SecretRefresh {
    /// A refresher of `keys` from `stores`, starting from `first` (what
    /// start-up read), applying changes through `rotations`.
    #[must_use]
    pub fn new(
        stores: SecretStores,
        keys: Vec<&'static str>,
        first: SecretSet,
        interval: Duration,
        rotations: Vec<(&'static str, Rotate)>,
    ) -> Self {
        Self {
            inner: Arc::new(RefreshInner {
                stores,
                keys,
                interval,
                rotations,
                last: Mutex::new(first),
            }),
            worker: Mutex::new(None),
        }
    }
}

impl RefreshInner {
    /// One read of the stores; a store that does not answer keeps the
    /// current values (logged, retried at the next interval).
    async fn refresh(&self) {
        let next = match self.stores.get_many(&self.keys).await {
            Ok(next) => next,
            Err(err) => {
                tracing::warn!(error = %err, "secret refresh failed; keeping the current secrets");
                return;
            }
        };
        let mut last = self.last.lock().await;
        for key in next.changed_since(&last) {
            let Some(value) = next.get(key) else {
                tracing::warn!(key, "secret removed from the store; keeping the current value");
                continue;
            };
            let mut applied = false;
            for (_, rotate) in self.rotations.iter().filter(|(k, _)| *k == key) {
                match rotate(value) {
                    Ok(()) => applied = true,
                    Err(err) => tracing::error!(key, error = %format!("{err:#}"), "rotated secret refused"),
                }
            }
            if applied {
                tracing::info!(key, "secret rotated");
            } else {
                tracing::warn!(key, "secret changed in the store; it takes effect at the next restart");
            }
        }
        *last = next;
    }
}

#[async_trait]
impl BackgroundService for SecretRefresh {
    fn name(&self) -> &'static str {
        "secret-refresh"
    }

    async fn start(&self) -> Result<(), BoxError> {
        let inner = Arc::clone(&self.inner);
        let handle = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(inner.interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await; // the first tick is immediate: start-up just read
            loop {
                ticks.tick().await;
                inner.refresh().await;
            }
        });
        *self.worker.lock().await = Some(handle);
        Ok(())
    }

    async fn stop(&self) -> Result<(), BoxError> {
        if let Some(handle) = self.worker.lock().await.take() {
            handle.abort();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

    use platform_adapter_crypto::{JwtAlgorithm, JwtCodec, JwtSettings};
    use platform_ports::model::{SecretString, TenantId, UserId};

    use super::*;

    fn codec(secret: &str) -> Arc<dyn TokenCodec> {
        let algorithm = JwtAlgorithm::Hs256 {
            secret: SecretString::new(secret),
        };
        Arc::new(JwtCodec::new(JwtSettings::new(algorithm, "iss", "aud")).unwrap())
    }

    fn claims() -> AccessClaims {
        let now = chrono::Utc::now().timestamp();
        AccessClaims {
            sub: UserId(uuid::Uuid::nil()),
            roles: vec![],
            tenant_id: TenantId(uuid::Uuid::nil()),
            exp: now + 600,
            iat: now,
            jti: "j".into(),
            iss: "iss".into(),
            aud: "aud".into(),
            sid: None,
        }
    }

    #[test]
    fn the_previous_key_verifies_for_the_grace_period_only() {
        let rotating = RotatingTokenCodec::new(codec("old-key-0123456789abcdef0123456789"), Duration::from_millis(300));
        let old = rotating.encode(&claims()).unwrap();
        rotating.rotate(codec("new-key-0123456789abcdef0123456789"));
        let new = rotating.encode(&claims()).unwrap();
        assert!(
            codec("new-key-0123456789abcdef0123456789").decode(&new).is_ok(),
            "new tokens use the new key"
        );
        assert!(rotating.decode(&new).is_ok());
        assert!(rotating.decode(&old).is_ok(), "the previous key still verifies");
        let forged = codec("someone-else-0123456789abcdef012345").encode(&claims()).unwrap();
        assert!(matches!(rotating.decode(&forged), Err(TokenError::BadSignature)));
        std::thread::sleep(Duration::from_millis(350));
        assert!(
            matches!(rotating.decode(&old), Err(TokenError::BadSignature)),
            "past the grace period the old key is refused"
        );
    }
}
