//! The cache contract against a real Redis (`PLATFORM_TEST_REDIS_URL`, or
//! `redis://127.0.0.1:6379`), and what only a real server can show: errors
//! Redis answers with are errors, not an outage.
//!
//! Without a reachable Redis each test prints a loud SKIPPED notice, or fails
//! when `CI=true`.

#![allow(clippy::unwrap_used, reason = "test helpers: a failed unwrap is a failed test")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use deadpool_redis::redis::AsyncCommands;
use platform_contract::cache;
use platform_ports::cache::{Cache, CacheError};
use platform_ports::health::{HealthChecker, HealthStatus};

use common::{cache, delete_prefix, shared_redis, unique_prefix};

/// One test per check, each with its own prefix; afterwards nothing may be
/// left under it (the checks delete their keys).
macro_rules! redis_contract {
    ($($check:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let Some((url, mut raw)) = shared_redis().await else { return };
                let prefix = unique_prefix(stringify!($check));
                let redis = cache(&url);
                cache::$check(Arc::new(redis.clone()), &prefix).await;
                assert_eq!(delete_prefix(&mut raw, &prefix).await, 0, "keys left behind");
            }
        )+
    };
}

platform_contract::for_each_cache_check!(redis_contract);

#[tokio::test]
async fn values_are_shared_with_other_clients() {
    let Some((url, mut raw)) = shared_redis().await else {
        return;
    };
    let prefix = unique_prefix("shared");
    let (a, b) = (cache(&url), cache(&url));
    let key = format!("{prefix}:user:1:permissions");

    a.set(&key, b"user.read".to_vec(), Some(Duration::from_secs(30)))
        .await
        .unwrap();
    assert_eq!(b.get(&key).await.unwrap(), Some(b"user.read".to_vec()));
    let stored: Vec<u8> = raw.get(&key).await.unwrap();
    assert_eq!(stored, b"user.read");
    let ttl_ms: i64 = raw.pttl(&key).await.unwrap();
    assert!((29_000..=30_000).contains(&ttl_ms), "{ttl_ms}");

    b.delete(&key).await.unwrap();
    assert_eq!(a.get(&key).await.unwrap(), None);
    delete_prefix(&mut raw, &prefix).await;
}

#[tokio::test]
async fn errors_redis_answers_with_are_not_unavailable() {
    let Some((url, mut raw)) = shared_redis().await else {
        return;
    };
    let prefix = unique_prefix("wrongtype");
    let redis = cache(&url);
    let list = format!("{prefix}:list");
    let _: () = raw.rpush(&list, "item").await.unwrap();

    let read = redis.get(&list).await;
    assert!(matches!(read, Err(CacheError::Backend(_))), "{read:?}");
    let counted = redis.increment(&list, None).await;
    assert!(matches!(counted, Err(CacheError::Backend(_))), "{counted:?}");

    assert_eq!(redis.health_checker().check().await.unwrap(), HealthStatus::Up);
    delete_prefix(&mut raw, &prefix).await;
}

#[tokio::test]
async fn increment_window_is_set_in_redis_on_creation_only() {
    let Some((url, mut raw)) = shared_redis().await else {
        return;
    };
    let prefix = unique_prefix("window");
    let redis = cache(&url);
    let key = format!("{prefix}:ratelimit:10.0.0.1:login");

    assert_eq!(redis.increment(&key, Some(Duration::from_secs(60))).await.unwrap(), 1);
    let _: () = raw.pexpire(&key, 5_000).await.unwrap();
    assert_eq!(redis.increment(&key, Some(Duration::from_secs(60))).await.unwrap(), 2);
    let ttl_ms: i64 = raw.pttl(&key).await.unwrap();
    assert!(ttl_ms <= 5_000, "the window was stretched to {ttl_ms} ms");
    delete_prefix(&mut raw, &prefix).await;
}
