//! A bearer token shared by concurrent sends and renewed before it expires
//! (FCM's OAuth2 access token, APNs's provider token).

use std::future::Future;
use std::time::{Duration, Instant};

use platform_ports::notify::NotifyError;
use tokio::sync::Mutex;

/// One cached token; the lock makes concurrent sends wait for a single renewal.
#[derive(Default)]
pub(crate) struct TokenCache {
    slot: Mutex<Option<(String, Instant)>>,
}

impl TokenCache {
    /// The cached token while it is fresh, else the one `fetch` makes,
    /// kept for the lifetime `fetch` gives with it.
    pub(crate) async fn get<F, Fut>(&self, fetch: F) -> Result<String, NotifyError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(String, Duration), NotifyError>>,
    {
        let mut slot = self.slot.lock().await;
        if let Some((token, renew_at)) = slot.as_ref()
            && Instant::now() < *renew_at
        {
            return Ok(token.clone());
        }
        let (token, lifetime) = fetch().await?;
        *slot = Some((token.clone(), Instant::now() + lifetime));
        Ok(token)
    }

    /// Forgets the token (the server refused it): the next send gets a new one.
    pub(crate) async fn clear(&self) {
        *self.slot.lock().await = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_fresh_token_is_reused_and_a_cleared_or_stale_one_renewed() {
        let cache = TokenCache::default();
        let fetches = std::sync::atomic::AtomicUsize::new(0);
        let fetch = |lifetime: Duration| {
            let n = fetches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move { Ok((format!("token-{n}"), lifetime)) }
        };
        assert_eq!(cache.get(|| fetch(Duration::from_secs(60))).await.unwrap(), "token-0");
        assert_eq!(cache.get(|| fetch(Duration::from_secs(60))).await.unwrap(), "token-0");
        cache.clear().await;
        assert_eq!(cache.get(|| fetch(Duration::ZERO)).await.unwrap(), "token-1");
        assert_eq!(cache.get(|| fetch(Duration::from_secs(60))).await.unwrap(), "token-2");
        let failed = cache
            .get(|| async { Err(NotifyError::backend("token endpoint down")) })
            .await;
        assert_eq!(failed.ok(), Some("token-2".to_owned()), "a fresh token needs no fetch");
    }
}
