//! A cache decorator that prefixes every key, so several deployments (or
//! test runs) can share one Redis without seeing each other's keys.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use platform_ports::cache::{Cache, CacheError};

/// Prefixes keys with `{namespace}:` before they reach the inner cache.
pub struct NamespacedCache {
    inner: Arc<dyn Cache>,
    prefix: String,
}

impl NamespacedCache {
    /// Keys become `{namespace}:{key}`.
    pub fn new(inner: Arc<dyn Cache>, namespace: &str) -> Self {
        Self {
            inner,
            prefix: format!("{namespace}:"),
        }
    }

    fn key(&self, key: &str) -> String {
        let mut k = String::with_capacity(self.prefix.len() + key.len());
        k.push_str(&self.prefix);
        k.push_str(key);
        k
    }
}

#[async_trait]
impl Cache for NamespacedCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        self.inner.get(&self.key(key)).await
    }
    async fn set(&self, key: &str, value: Vec<u8>, ttl: Option<Duration>) -> Result<(), CacheError> {
        self.inner.set(&self.key(key), value, ttl).await
    }
    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.inner.delete(&self.key(key)).await
    }
    async fn exists(&self, key: &str) -> Result<bool, CacheError> {
        self.inner.exists(&self.key(key)).await
    }
    async fn increment(&self, key: &str, ttl: Option<Duration>) -> Result<i64, CacheError> {
        self.inner.increment(&self.key(key), ttl).await
    }
    async fn ttl(&self, key: &str) -> Result<Option<Duration>, CacheError> {
        self.inner.ttl(&self.key(key)).await
    }
}

#[cfg(test)]
mod tests {
    use platform_ports::cache::MockCache;

    use super::*;

    #[tokio::test]
    async fn every_operation_is_prefixed() {
        let mut inner = MockCache::new();
        inner.expect_get().withf(|k| k == "ns:user:1").returning(|_| Ok(None));
        inner
            .expect_set()
            .withf(|k, _, _| k == "ns:a")
            .returning(|_, _, _| Ok(()));
        inner.expect_delete().withf(|k| k == "ns:a").returning(|_| Ok(()));
        inner.expect_exists().withf(|k| k == "ns:a").returning(|_| Ok(true));
        inner
            .expect_increment()
            .withf(|k, _| k == "ns:c")
            .returning(|_, _| Ok(1));
        inner.expect_ttl().withf(|k| k == "ns:c").returning(|_| Ok(None));
        let cache = NamespacedCache::new(Arc::new(inner), "ns");
        assert_eq!(cache.get("user:1").await.unwrap(), None);
        cache.set("a", vec![1], None).await.unwrap();
        cache.delete("a").await.unwrap();
        assert!(cache.exists("a").await.unwrap());
        assert_eq!(cache.increment("c", None).await.unwrap(), 1);
        assert_eq!(cache.ttl("c").await.unwrap(), None);
    }
}
