//! Redis outages as the adapter reports them: `CacheError::Unavailable`, at
//! once and within the command timeout, and the same cache serving again
//! when Redis is back. (Serving from memory meanwhile is the fallback
//! cache's job: core's unit tests and the black-box outage tests.)
//!
//! The kill and freeze tests run their own `redis-server` (skipped loudly
//! without the binary, failed when `CI=true`); the closed-port tests need nothing.

#![allow(clippy::unwrap_used, reason = "test helpers: a failed unwrap is a failed test")]

mod common;

use std::time::{Duration, Instant};

use platform_contract::redis_server::{Throwaway, eventually, free_port};
use platform_ports::cache::{Cache, CacheError};
use platform_ports::health::{HealthChecker, HealthStatus};

use common::cache;

fn unavailable<T: std::fmt::Debug>(result: Result<T, CacheError>) {
    assert!(matches!(result, Err(CacheError::Unavailable(_))), "{result:?}");
}

#[tokio::test]
async fn an_unreachable_redis_is_unavailable_on_every_call() {
    let redis = cache(&format!("redis://127.0.0.1:{}", free_port()));
    unavailable(redis.get("k").await);
    unavailable(redis.set("k", b"v".to_vec(), None).await);
    unavailable(redis.set("k", b"v".to_vec(), Some(Duration::from_secs(1))).await);
    unavailable(redis.delete("k").await);
    unavailable(redis.exists("k").await);
    unavailable(redis.increment("k", None).await);
    unavailable(redis.ttl("k").await);
    assert!(redis.health_checker().check().await.is_err());
}

#[tokio::test]
async fn an_invalid_url_is_refused_at_start() {
    let refused = platform_adapter_redis::RedisCache::connect(&common::settings("http://not-redis"));
    assert!(refused.is_err());
}

#[tokio::test]
async fn a_killed_redis_is_unavailable_and_served_again_after_a_restart() {
    let Some(mut server) = Throwaway::start("a_killed_redis_is_unavailable_and_served_again_after_a_restart").await
    else {
        return;
    };
    let redis = cache(&server.url());
    let health = redis.health_checker();
    redis.set("before", b"1".to_vec(), None).await.unwrap();
    assert_eq!(health.check().await.unwrap(), HealthStatus::Up);

    server.kill().await;
    unavailable(redis.set("during", b"2".to_vec(), None).await);
    unavailable(redis.get("before").await);
    assert!(health.check().await.is_err());

    // The same cache, without a restart of ours: the pool reconnects.
    server.restart().await;
    eventually(Duration::from_secs(5), async || {
        redis.set("after", b"3".to_vec(), None).await.is_ok()
    })
    .await;
    assert_eq!(redis.get("after").await.unwrap(), Some(b"3".to_vec()));
    assert_eq!(redis.get("before").await.unwrap(), None, "a fresh server holds nothing");
    assert_eq!(health.check().await.unwrap(), HealthStatus::Up);
}

#[tokio::test]
async fn a_frozen_redis_is_unavailable_within_the_command_timeout() {
    let Some(server) = Throwaway::start("a_frozen_redis_is_unavailable_within_the_command_timeout").await else {
        return;
    };
    let redis = cache(&server.url());
    redis.set("k", b"v".to_vec(), None).await.unwrap();

    server.signal("STOP");
    let started = Instant::now();
    unavailable(redis.delete("k").await);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the command timeout bounds the wait: {:?}",
        started.elapsed()
    );

    server.signal("CONT");
    eventually(Duration::from_secs(5), async || redis.get("k").await.is_ok()).await;
    assert_eq!(redis.get("k").await.unwrap(), Some(b"v".to_vec()));
}
