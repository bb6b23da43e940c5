//! Redis outages: the in-memory fallback serves, the health checker reports
//! degraded, one warning is logged, and the cache returns to Redis on its own.
//!
//! The outage tests run their own `redis-server` (skipped loudly without the
//! binary, failed when `CI=true`); the closed-port tests need nothing.

#![allow(clippy::unwrap_used, reason = "test helpers: a failed unwrap is a failed test")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use deadpool_redis::redis::AsyncCommands;
use platform_contract::cache;
use platform_ports::cache::Cache;
use platform_ports::health::{HealthChecker, HealthStatus};
use tracing::Level;

use common::{Throwaway, cache, capture_logs, eventually, free_port, raw};

const DEGRADED: &str = "redis unreachable; serving from the in-memory cache";
const LOST: &str = "redis unreachable";
const BACK: &str = "redis reachable again";

fn degraded() -> HealthStatus {
    HealthStatus::Degraded(DEGRADED.to_owned())
}

fn closed_port_url() -> String {
    format!("redis://127.0.0.1:{}", free_port())
}

#[tokio::test]
async fn unreachable_at_start_serves_from_memory_and_warns_once() {
    let (logs, _guard) = capture_logs();
    let redis = cache(&closed_port_url(), Duration::from_millis(100));
    let health = redis.health_checker();

    redis.set("k", b"v".to_vec(), None).await.unwrap();
    assert!(redis.is_on_fallback());
    assert_eq!(redis.get("k").await.unwrap(), Some(b"v".to_vec()));
    assert_eq!(redis.increment("n", None).await.unwrap(), 1);
    assert_eq!(redis.increment("n", None).await.unwrap(), 2);
    assert_eq!(health.check().await.unwrap(), degraded());

    // Several failed retries later, still one warning and still serving.
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(redis.get("k").await.unwrap(), Some(b"v".to_vec()));
    assert_eq!(health.check().await.unwrap(), degraded());
    assert_eq!(logs.count(Level::WARN, LOST), 1, "{}", logs.dump());
    assert_eq!(logs.count(Level::INFO, BACK), 0, "{}", logs.dump());
}

#[tokio::test]
async fn concurrent_requests_that_find_redis_gone_warn_once() {
    let (logs, _guard) = capture_logs();
    let redis = cache(&closed_port_url(), Duration::from_secs(60));
    let writes = (0..16).map(|i| {
        let redis = redis.clone();
        async move { redis.set(&format!("k{i}"), vec![i], None).await }
    });
    for written in futures::future::join_all(writes).await {
        written.unwrap();
    }
    for i in 0..16 {
        assert_eq!(redis.get(&format!("k{i}")).await.unwrap(), Some(vec![i]));
    }
    assert_eq!(logs.count(Level::WARN, LOST), 1, "{}", logs.dump());
}

#[tokio::test]
async fn health_check_notices_an_outage_before_any_request() {
    let (logs, _guard) = capture_logs();
    let redis = cache(&closed_port_url(), Duration::from_secs(5));
    assert!(!redis.is_on_fallback());
    assert_eq!(redis.health_checker().check().await.unwrap(), degraded());
    assert!(redis.is_on_fallback());
    assert_eq!(logs.count(Level::WARN, LOST), 1, "{}", logs.dump());
}

#[tokio::test]
async fn an_invalid_url_is_refused_at_start() {
    let settings = common::settings("http://not-redis", Duration::from_secs(1));
    let refused = platform_adapter_redis::RedisCache::connect(settings, platform_adapter_memory::MemoryCache::new());
    assert!(refused.is_err());
}

/// The fallback path keeps the port's contract too.
macro_rules! fallback_contract {
    ($($check:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let redis = cache(&closed_port_url(), Duration::from_secs(60));
                cache::$check(Arc::new(redis.clone()), stringify!($check)).await;
                assert!(redis.is_on_fallback());
            }
        )+
    };
}

mod on_fallback {
    use super::*;

    fallback_contract!(
        cache_get_set_delete_exists,
        cache_binary_values_round_trip,
        cache_values_expire_after_their_ttl,
        cache_set_without_ttl_persists,
        cache_ttl_reports_remaining_time,
        cache_increment_counts_from_absent,
        cache_increment_sets_ttl_only_on_creation,
        cache_increment_rejects_non_integers,
    );
}

#[tokio::test]
async fn killed_and_restarted_redis_is_used_again_without_a_restart() {
    let Some(mut server) = Throwaway::start().await else {
        return;
    };
    let (logs, _guard) = capture_logs();
    let retry = Duration::from_millis(500);
    let redis = cache(&server.url(), retry);
    let health = redis.health_checker();

    redis.set("before", b"1".to_vec(), None).await.unwrap();
    assert!(!redis.is_on_fallback());
    assert_eq!(health.check().await.unwrap(), HealthStatus::Up);

    server.kill().await;
    redis.set("during", b"2".to_vec(), None).await.unwrap();
    assert!(redis.is_on_fallback());
    assert_eq!(redis.get("during").await.unwrap(), Some(b"2".to_vec()));
    assert_eq!(redis.get("before").await.unwrap(), None);
    assert_eq!(health.check().await.unwrap(), degraded());
    for _ in 0..20 {
        redis.get("during").await.unwrap();
    }
    assert_eq!(logs.count(Level::WARN, LOST), 1, "{}", logs.dump());

    server.restart().await;
    let took = eventually(retry * 4, async || !redis.is_on_fallback()).await;
    assert!(took <= retry + Duration::from_millis(500), "back after {took:?}");
    assert_eq!(health.check().await.unwrap(), HealthStatus::Up);
    assert_eq!(logs.count(Level::INFO, BACK), 1, "{}", logs.dump());

    // Served by the new server, not the fallback.
    redis.set("after", b"3".to_vec(), None).await.unwrap();
    let mut direct = raw(&server.url()).await.unwrap();
    let stored: Option<Vec<u8>> = direct.get("after").await.unwrap();
    assert_eq!(stored, Some(b"3".to_vec()));
    assert_eq!(redis.get("during").await.unwrap(), None);
    assert_eq!(logs.count(Level::WARN, LOST), 1, "{}", logs.dump());
}

#[tokio::test]
async fn a_frozen_redis_times_out_and_changes_made_meanwhile_win() {
    let Some(server) = Throwaway::start().await else {
        return;
    };
    let (logs, _guard) = capture_logs();
    let retry = Duration::from_millis(300);
    let redis = cache(&server.url(), retry);
    redis.set("user:1:permissions", b"old".to_vec(), None).await.unwrap();
    redis.set("user:2:permissions", b"kept".to_vec(), None).await.unwrap();

    server.signal("STOP");
    let started = tokio::time::Instant::now();
    // An invalidation made during the outage.
    redis.delete("user:1:permissions").await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the command timeout bounds the wait: {:?}",
        started.elapsed()
    );
    assert!(redis.is_on_fallback());
    assert_eq!(redis.get("user:1:permissions").await.unwrap(), None);
    assert_eq!(redis.health_checker().check().await.unwrap(), degraded());

    server.signal("CONT");
    eventually(retry * 6, async || !redis.is_on_fallback()).await;
    // Redis kept the old value through the freeze; the deletion made during
    // the outage is applied, the untouched key is still served.
    assert_eq!(redis.get("user:1:permissions").await.unwrap(), None);
    assert_eq!(redis.get("user:2:permissions").await.unwrap(), Some(b"kept".to_vec()));
    assert_eq!(logs.count(Level::WARN, LOST), 1, "{}", logs.dump());
    assert_eq!(logs.count(Level::INFO, BACK), 1, "{}", logs.dump());
}
