//! Redis outages end to end: the fallback cache bootstrap composes
//! (`FallbackCache` over `RedisCache`, a fresh `MemoryCache` per outage)
//! serves while Redis is gone, keeps the cache contract, lets changes made
//! meanwhile win, and returns to Redis on its own; the running platform stays
//! ready (degraded) through it.
//!
//! The kill and freeze tests run their own `redis-server` (skipped loudly
//! without the binary, failed when `CI=true`); the closed-port tests need nothing.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;
use std::time::{Duration, Instant};

use platform_adapter_memory::MemoryCache;
use platform_adapter_redis::{RedisCache, RedisSettings};
use platform_contract::cache;
use platform_contract::redis_server::{Throwaway, eventually, free_port};
use platform_core::cache::{FallbackCache, FallbackSettings};
use platform_ports::cache::Cache;
use platform_ports::health::{HealthChecker, HealthStatus};
use platform_ports::model::SecretString;
use platform_tests::TestApp;
use serde_json::Value;

/// What bootstrap builds for `cache.driver: redis`, with short timeouts.
fn fallback_cache(url: &str, retry_interval: Duration) -> FallbackCache {
    let settings = RedisSettings {
        url: SecretString::new(url),
        pool_size: 4,
        command_timeout: Duration::from_millis(300),
    };
    let redis = RedisCache::connect(&settings).unwrap();
    let fallback = FallbackSettings {
        primary: settings.display_url(),
        retry_interval,
    };
    FallbackCache::new(Arc::new(redis), || Arc::new(MemoryCache::new()), fallback)
}

fn closed_port_url() -> String {
    format!("redis://127.0.0.1:{}", free_port())
}

/// The fallback path keeps the port's contract too.
macro_rules! fallback_contract {
    ($($check:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let cache = fallback_cache(&closed_port_url(), Duration::from_secs(60));
                cache::$check(Arc::new(cache.clone()), stringify!($check)).await;
                assert!(cache.is_on_fallback());
            }
        )+
    };
}

mod on_fallback {
    use super::*;

    platform_contract::for_each_cache_check!(fallback_contract);
}

#[tokio::test]
async fn killed_and_restarted_redis_is_used_again_without_a_restart() {
    let Some(mut server) = Throwaway::start("killed_and_restarted_redis_is_used_again_without_a_restart").await else {
        return;
    };
    let retry = Duration::from_millis(500);
    let cache = fallback_cache(&server.url(), retry);
    let health = cache.health_checker();

    cache.set("before", b"1".to_vec(), None).await.unwrap();
    assert!(!cache.is_on_fallback());
    assert_eq!(health.check().await.unwrap(), HealthStatus::Up);

    server.kill().await;
    cache.set("during", b"2".to_vec(), None).await.unwrap();
    assert!(cache.is_on_fallback());
    assert_eq!(cache.get("during").await.unwrap(), Some(b"2".to_vec()));
    assert_eq!(cache.get("before").await.unwrap(), None);
    assert!(matches!(health.check().await.unwrap(), HealthStatus::Degraded(_)));

    server.restart().await;
    let took = eventually(retry * 4, async || !cache.is_on_fallback()).await;
    assert!(took <= retry + Duration::from_millis(500), "back after {took:?}");
    assert_eq!(health.check().await.unwrap(), HealthStatus::Up);

    // Served by the new server, not the fallback.
    cache.set("after", b"3".to_vec(), None).await.unwrap();
    let direct = fallback_cache(&server.url(), retry);
    assert_eq!(direct.get("after").await.unwrap(), Some(b"3".to_vec()));
    assert!(!direct.is_on_fallback());
    assert_eq!(cache.get("during").await.unwrap(), None);
}

#[tokio::test]
async fn a_frozen_redis_times_out_and_changes_made_meanwhile_win() {
    let Some(server) = Throwaway::start("a_frozen_redis_times_out_and_changes_made_meanwhile_win").await else {
        return;
    };
    let retry = Duration::from_millis(300);
    let cache = fallback_cache(&server.url(), retry);
    cache.set("user:1:permissions", b"old".to_vec(), None).await.unwrap();
    cache.set("user:2:permissions", b"kept".to_vec(), None).await.unwrap();

    server.signal("STOP");
    let started = Instant::now();
    // An invalidation made during the outage.
    cache.delete("user:1:permissions").await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the command timeout bounds the wait: {:?}",
        started.elapsed()
    );
    assert!(cache.is_on_fallback());
    assert_eq!(cache.get("user:1:permissions").await.unwrap(), None);

    server.signal("CONT");
    eventually(retry * 6, async || !cache.is_on_fallback()).await;
    // Redis kept the old value through the freeze; the deletion made during
    // the outage is applied, the untouched key is still served.
    assert_eq!(cache.get("user:1:permissions").await.unwrap(), None);
    assert_eq!(cache.get("user:2:permissions").await.unwrap(), Some(b"kept".to_vec()));
}

/// The `redis` readiness check of a running platform.
async fn redis_check(app: &TestApp) -> Value {
    let response = app.get("/ready").await.unwrap();
    assert_eq!(response.status(), 200, "degraded still serves");
    let body: Value = response.json().await.unwrap();
    body["checks"]["redis"].clone()
}

#[tokio::test]
async fn the_platform_serves_through_a_redis_outage_and_returns_to_redis() {
    let Some(mut server) = Throwaway::start("the_platform_serves_through_a_redis_outage_and_returns_to_redis").await
    else {
        return;
    };
    let url = server.url();
    let app = TestApp::spawn_with_overrides(&[
        ("PLATFORM__CACHE__DRIVER", "redis"),
        ("PLATFORM__REDIS__URL", &url),
        ("PLATFORM__REDIS__COMMAND_TIMEOUT", "300ms"),
        ("PLATFORM__REDIS__RETRY_INTERVAL", "300ms"),
        // Only the cache is on the Redis this test stops: a job queue on it
        // would rightly make the whole instance unready.
        ("PLATFORM__SCHEDULER__DRIVER", "memory"),
    ])
    .await
    .unwrap();
    assert_eq!(redis_check(&app).await["status"], "up");
    let admin = app.admin_token().await.unwrap();
    assert_eq!(app.get_as(&admin, "users").await.unwrap().status(), 200);

    server.kill().await;
    // Rate limits and permissions are served from memory meanwhile.
    let admin = app.admin_token().await.unwrap();
    assert_eq!(app.get_as(&admin, "users").await.unwrap().status(), 200);
    let check = redis_check(&app).await;
    assert_eq!(check["status"], "degraded", "{check}");

    server.restart().await;
    eventually(Duration::from_secs(5), async || {
        redis_check(&app).await["status"] == "up"
    })
    .await;
    assert_eq!(app.get_as(&admin, "users").await.unwrap().status(), 200);

    let metrics = app.get("/metrics").await.unwrap().text().await.unwrap();
    assert!(metrics.contains("cache_requests_total{"), "{metrics}");
    assert!(metrics.contains("cache_hit_ratio"), "{metrics}");
    app.stop().await.unwrap();
}
