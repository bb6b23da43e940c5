use std::time::Duration;

use platform_ports::cache::{Cache, CacheError};
use tokio::time::advance;

use super::{MemoryCache, SWEEP_EVERY};

#[tokio::test(start_paused = true)]
async fn values_expire_after_their_ttl() {
    let cache = MemoryCache::new();
    cache
        .set("user:1:permissions", b"a,b".to_vec(), Some(Duration::from_millis(50)))
        .await
        .unwrap();
    cache.set("forever", b"x".to_vec(), None).await.unwrap();

    assert_eq!(cache.get("user:1:permissions").await.unwrap(), Some(b"a,b".to_vec()));
    assert!(cache.exists("user:1:permissions").await.unwrap());

    advance(Duration::from_millis(51)).await;

    assert_eq!(cache.get("user:1:permissions").await.unwrap(), None);
    assert!(!cache.exists("user:1:permissions").await.unwrap());
    assert_eq!(cache.get("forever").await.unwrap(), Some(b"x".to_vec()));
}

#[tokio::test]
async fn delete_removes_and_absent_keys_are_fine() {
    let cache = MemoryCache::new();
    cache.set("k", b"v".to_vec(), None).await.unwrap();
    cache.delete("k").await.unwrap();
    cache.delete("never-there").await.unwrap();
    assert_eq!(cache.get("k").await.unwrap(), None);
}

#[tokio::test]
async fn set_overwrites_value_and_ttl() {
    let cache = MemoryCache::new();
    cache
        .set("k", b"1".to_vec(), Some(Duration::from_secs(10)))
        .await
        .unwrap();
    cache.set("k", b"2".to_vec(), None).await.unwrap();
    assert_eq!(cache.get("k").await.unwrap(), Some(b"2".to_vec()));
    assert_eq!(cache.ttl("k").await.unwrap(), None);
}

#[tokio::test(start_paused = true)]
async fn ttl_reports_remaining_time() {
    let cache = MemoryCache::new();
    cache
        .set("k", b"v".to_vec(), Some(Duration::from_secs(10)))
        .await
        .unwrap();
    advance(Duration::from_secs(4)).await;
    assert_eq!(cache.ttl("k").await.unwrap(), Some(Duration::from_secs(6)));
    assert_eq!(cache.ttl("absent").await.unwrap(), None);
    advance(Duration::from_secs(6)).await;
    assert_eq!(cache.ttl("k").await.unwrap(), None);
}

#[tokio::test(start_paused = true)]
async fn increment_opens_a_fixed_window() {
    let cache = MemoryCache::new();
    let window = Some(Duration::from_secs(60));
    assert_eq!(cache.increment("ratelimit:ip:login", window).await.unwrap(), 1);
    advance(Duration::from_secs(20)).await;
    // A later increment keeps the window that the first one opened.
    assert_eq!(
        cache
            .increment("ratelimit:ip:login", Some(Duration::from_secs(600)))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        cache.ttl("ratelimit:ip:login").await.unwrap(),
        Some(Duration::from_secs(40))
    );
    assert_eq!(cache.get("ratelimit:ip:login").await.unwrap(), Some(b"2".to_vec()));

    advance(Duration::from_secs(40)).await;
    assert_eq!(cache.increment("ratelimit:ip:login", window).await.unwrap(), 1);
    assert_eq!(
        cache.ttl("ratelimit:ip:login").await.unwrap(),
        Some(Duration::from_secs(60))
    );
}

#[tokio::test]
async fn increment_continues_a_stored_integer() {
    let cache = MemoryCache::new();
    cache.set("n", b"41".to_vec(), None).await.unwrap();
    assert_eq!(cache.increment("n", Some(Duration::from_secs(5))).await.unwrap(), 42);
    assert_eq!(cache.ttl("n").await.unwrap(), None);
    cache.set("neg", b"-3".to_vec(), None).await.unwrap();
    assert_eq!(cache.increment("neg", None).await.unwrap(), -2);
}

#[tokio::test]
async fn increment_refuses_what_is_not_an_integer() {
    let cache = MemoryCache::new();
    for bad in [&b"abc"[..], b"", b"1.5", b" 1", b"+1", b"-", &[0xff, 0x31]] {
        cache.set("k", bad.to_vec(), None).await.unwrap();
        let err = cache.increment("k", None).await.unwrap_err();
        assert!(matches!(err, CacheError::NotAnInteger), "{bad:?} gave {err:?}");
        assert_eq!(
            cache.get("k").await.unwrap(),
            Some(bad.to_vec()),
            "value must be untouched"
        );
    }
    cache.set("max", i64::MAX.to_string().into_bytes(), None).await.unwrap();
    assert!(matches!(
        cache.increment("max", None).await,
        Err(CacheError::Backend(_))
    ));
}

#[tokio::test]
async fn counts_hits_and_misses() {
    let cache = MemoryCache::new();
    cache.set("k", b"v".to_vec(), None).await.unwrap();
    cache.get("k").await.unwrap();
    cache.exists("k").await.unwrap();
    cache.get("nope").await.unwrap();
    assert_eq!((cache.hits(), cache.misses()), (2, 1));
}

#[tokio::test(start_paused = true)]
async fn writes_sweep_expired_keys_never_read_again() {
    let cache = MemoryCache::new();
    let keys = 200;
    for i in 0..keys {
        cache
            .set(&format!("old:{i}"), b"v".to_vec(), Some(Duration::from_millis(10)))
            .await
            .unwrap();
    }
    assert_eq!(cache.stored_len(), keys);
    advance(Duration::from_millis(20)).await;
    // Enough writes over enough distinct keys that every shard comes round to a sweep.
    let live = 1024;
    let writes = super::SHARDS * usize::try_from(SWEEP_EVERY).unwrap() * 2;
    for i in 0..writes {
        cache
            .set(&format!("new:{}", i % live), b"v".to_vec(), None)
            .await
            .unwrap();
    }
    assert_eq!(cache.stored_len(), live, "expired keys were not swept");
    for i in 0..keys {
        assert_eq!(cache.get(&format!("old:{i}")).await.unwrap(), None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_increments_are_not_lost() {
    let cache = std::sync::Arc::new(MemoryCache::new());
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move {
                for _ in 0..250 {
                    cache.increment("shared", None).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(cache.get("shared").await.unwrap(), Some(b"2000".to_vec()));
}
