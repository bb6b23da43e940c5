//! The cache: values, TTLs, counters for fixed-window rate limits.
//!
//! Every check takes a key prefix so checks can share one server (Redis)
//! and run in parallel; each deletes the keys it wrote before returning.
//! TTLs are short (about a second) and checked with real sleeps, so these
//! checks must not run under tokio's paused clock.
//!
//! A runner names every check once with [`for_each_cache_check!`]:
//! `platform_contract::for_each_cache_check!(my_runner);` expands to
//! `my_runner!(cache_get_set_delete_exists, ...);`, so a new check reaches
//! every adapter's runner.

/// Calls `$runner!` with the name of every cache check.
#[macro_export]
macro_rules! for_each_cache_check {
    ($runner:ident) => {
        $runner!(
            cache_get_set_delete_exists,
            cache_binary_values_round_trip,
            cache_values_expire_after_their_ttl,
            cache_set_without_ttl_persists,
            cache_ttl_reports_remaining_time,
            cache_increment_counts_from_absent,
            cache_increment_sets_ttl_only_on_creation,
            cache_increment_rejects_non_integers,
        );
    };
}

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use platform_ports::cache::{Cache, CacheError};
use tokio::time::sleep;

/// The keys a check writes, so it can delete them when it is done.
struct Keys {
    prefix: String,
    written: Vec<String>,
}

impl Keys {
    fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            written: Vec::new(),
        }
    }

    /// `{prefix}:{name}`, remembered for [`Keys::delete_all`].
    fn key(&mut self, name: &str) -> String {
        let key = format!("{}:{name}", self.prefix);
        self.written.push(key.clone());
        key
    }

    async fn delete_all(self, cache: &dyn Cache) {
        for key in self.written {
            cache.delete(&key).await.unwrap();
        }
    }
}

/// Set, get, exists, overwrite and delete; absent keys read as `None` and
/// deleting them is fine.
pub async fn cache_get_set_delete_exists(cache: Arc<dyn Cache>, prefix: &str) {
    let mut keys = Keys::new(prefix);
    let (k, absent) = (keys.key("user:1:permissions"), keys.key("absent"));

    assert_eq!(cache.get(&absent).await.unwrap(), None);
    assert!(!cache.exists(&absent).await.unwrap());

    cache.set(&k, b"blog.post.create".to_vec(), None).await.unwrap();
    assert_eq!(cache.get(&k).await.unwrap(), Some(b"blog.post.create".to_vec()));
    assert!(cache.exists(&k).await.unwrap());

    cache.set(&k, b"user.read".to_vec(), None).await.unwrap();
    assert_eq!(cache.get(&k).await.unwrap(), Some(b"user.read".to_vec()));

    cache.delete(&k).await.unwrap();
    assert_eq!(cache.get(&k).await.unwrap(), None);
    assert!(!cache.exists(&k).await.unwrap());
    cache.delete(&k).await.unwrap();
    cache.delete(&absent).await.unwrap();
    keys.delete_all(&*cache).await;
}

/// Bytes come back exactly: a large value holding every byte (not UTF-8),
/// and the empty value, which is present, not absent.
pub async fn cache_binary_values_round_trip(cache: Arc<dyn Cache>, prefix: &str) {
    let mut keys = Keys::new(prefix);
    let (big, empty) = (keys.key("big"), keys.key("empty"));

    // 2 MiB cycling through 0..=255 with a stride, so no byte lines up with its index.
    let value: Vec<u8> = (0..2 * 1024 * 1024_u32)
        .map(|i| (i.wrapping_mul(31) % 256) as u8)
        .collect();
    assert!(std::str::from_utf8(&value).is_err());
    cache.set(&big, value.clone(), None).await.unwrap();
    assert_eq!(cache.get(&big).await.unwrap(), Some(value));

    cache.set(&empty, Vec::new(), None).await.unwrap();
    assert_eq!(cache.get(&empty).await.unwrap(), Some(Vec::new()));
    assert!(cache.exists(&empty).await.unwrap());
    keys.delete_all(&*cache).await;
}

/// A value set with a TTL is readable until the TTL passes, then absent to
/// every operation; its neighbour without a TTL stays.
pub async fn cache_values_expire_after_their_ttl(cache: Arc<dyn Cache>, prefix: &str) {
    let mut keys = Keys::new(prefix);
    let (short, forever) = (keys.key("short"), keys.key("forever"));

    cache
        .set(&short, b"v".to_vec(), Some(Duration::from_millis(800)))
        .await
        .unwrap();
    cache.set(&forever, b"f".to_vec(), None).await.unwrap();
    assert_eq!(cache.get(&short).await.unwrap(), Some(b"v".to_vec()));
    assert!(cache.exists(&short).await.unwrap());

    sleep(Duration::from_millis(1100)).await;

    assert_eq!(cache.get(&short).await.unwrap(), None);
    assert!(!cache.exists(&short).await.unwrap());
    assert_eq!(cache.ttl(&short).await.unwrap(), None);
    assert_eq!(cache.get(&forever).await.unwrap(), Some(b"f".to_vec()));
    keys.delete_all(&*cache).await;
}

/// Without a TTL a value stays; setting again without a TTL removes an
/// earlier TTL; a zero TTL stores nothing readable; a TTL too large to
/// represent keeps the value.
pub async fn cache_set_without_ttl_persists(cache: Arc<dyn Cache>, prefix: &str) {
    let mut keys = Keys::new(prefix);
    let (k, zero, huge) = (keys.key("k"), keys.key("zero"), keys.key("huge"));

    cache
        .set(&k, b"1".to_vec(), Some(Duration::from_millis(500)))
        .await
        .unwrap();
    cache.set(&k, b"2".to_vec(), None).await.unwrap();
    assert_eq!(cache.ttl(&k).await.unwrap(), None);
    sleep(Duration::from_millis(700)).await;
    assert_eq!(cache.get(&k).await.unwrap(), Some(b"2".to_vec()));
    assert_eq!(cache.ttl(&k).await.unwrap(), None);

    cache.set(&zero, b"z".to_vec(), Some(Duration::ZERO)).await.unwrap();
    assert_eq!(cache.get(&zero).await.unwrap(), None);
    assert!(!cache.exists(&zero).await.unwrap());

    cache.set(&huge, b"h".to_vec(), Some(Duration::MAX)).await.unwrap();
    assert_eq!(cache.get(&huge).await.unwrap(), Some(b"h".to_vec()));
    keys.delete_all(&*cache).await;
}

/// `ttl` is the time left, counting down; `None` for absent keys and keys
/// without expiry.
pub async fn cache_ttl_reports_remaining_time(cache: Arc<dyn Cache>, prefix: &str) {
    let mut keys = Keys::new(prefix);
    let (k, forever, absent) = (keys.key("k"), keys.key("forever"), keys.key("absent"));

    cache
        .set(&k, b"v".to_vec(), Some(Duration::from_secs(10)))
        .await
        .unwrap();
    let first = cache.ttl(&k).await.unwrap().expect("a TTL was set");
    assert!(
        first <= Duration::from_secs(10) && first > Duration::from_secs(9),
        "{first:?}"
    );
    sleep(Duration::from_millis(300)).await;
    let later = cache.ttl(&k).await.unwrap().expect("still live");
    assert!(later <= first - Duration::from_millis(250), "{first:?} then {later:?}");

    cache.set(&forever, b"f".to_vec(), None).await.unwrap();
    assert_eq!(cache.ttl(&forever).await.unwrap(), None);
    assert_eq!(cache.ttl(&absent).await.unwrap(), None);
    keys.delete_all(&*cache).await;
}

/// An absent counter starts at 1; concurrent increments are never lost; a
/// counter created without a TTL has none.
pub async fn cache_increment_counts_from_absent(cache: Arc<dyn Cache>, prefix: &str) {
    let mut keys = Keys::new(prefix);
    let (k, race) = (keys.key("counter"), keys.key("race"));

    assert_eq!(cache.increment(&k, None).await.unwrap(), 1);
    assert_eq!(cache.increment(&k, None).await.unwrap(), 2);
    assert_eq!(cache.get(&k).await.unwrap(), Some(b"2".to_vec()));
    assert_eq!(cache.ttl(&k).await.unwrap(), None);

    // A stored decimal (what a rate limiter or another instance wrote) counts on.
    cache.set(&k, b"41".to_vec(), None).await.unwrap();
    assert_eq!(cache.increment(&k, None).await.unwrap(), 42);
    cache.set(&k, b"-3".to_vec(), None).await.unwrap();
    assert_eq!(cache.increment(&k, None).await.unwrap(), -2);

    let ttl = Some(Duration::from_secs(30));
    let mut seen: Vec<i64> = join_all((0..32).map(|_| cache.increment(&race, ttl)))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (1..=32).collect::<Vec<_>>());
    keys.delete_all(&*cache).await;
}

/// The TTL given to `increment` applies only when the call creates the key:
/// later increments keep the window's end, and once it passes the count
/// starts again at 1 with a new window. A counter that already exists
/// without a TTL does not gain one.
pub async fn cache_increment_sets_ttl_only_on_creation(cache: Arc<dyn Cache>, prefix: &str) {
    let mut keys = Keys::new(prefix);
    let (window, kept) = (keys.key("ratelimit:ip:login"), keys.key("kept"));
    let second = Some(Duration::from_secs(1));

    assert_eq!(cache.increment(&window, second).await.unwrap(), 1);
    let first = cache.ttl(&window).await.unwrap().expect("window set");
    assert!(first <= Duration::from_secs(1), "{first:?}");
    sleep(Duration::from_millis(400)).await;
    assert_eq!(cache.increment(&window, second).await.unwrap(), 2);
    let left = cache.ttl(&window).await.unwrap().expect("window kept");
    assert!(left <= Duration::from_millis(650), "window was reset: {left:?}");

    sleep(Duration::from_millis(800)).await;
    assert_eq!(cache.get(&window).await.unwrap(), None);
    assert_eq!(cache.increment(&window, second).await.unwrap(), 1);
    let fresh = cache.ttl(&window).await.unwrap().expect("new window");
    assert!(fresh > Duration::from_millis(650), "{fresh:?}");

    cache.set(&kept, b"0".to_vec(), None).await.unwrap();
    assert_eq!(cache.increment(&kept, second).await.unwrap(), 1);
    assert_eq!(cache.ttl(&kept).await.unwrap(), None);
    keys.delete_all(&*cache).await;
}

/// Incrementing text, bytes that are not UTF-8 or a decimal fraction is
/// `NotAnInteger` and leaves the value alone; overflowing an i64 is an error.
pub async fn cache_increment_rejects_non_integers(cache: Arc<dyn Cache>, prefix: &str) {
    let mut keys = Keys::new(prefix);
    let k = keys.key("k");

    for value in [&b"abc"[..], &[0xff, 0xfe, 0x31], b"1.5", b""] {
        cache.set(&k, value.to_vec(), None).await.unwrap();
        let result = cache.increment(&k, None).await;
        assert!(matches!(result, Err(CacheError::NotAnInteger)), "{value:?}: {result:?}");
        assert_eq!(cache.get(&k).await.unwrap(), Some(value.to_vec()));
    }

    let max = i64::MAX.to_string().into_bytes();
    cache.set(&k, max.clone(), None).await.unwrap();
    let overflow = cache.increment(&k, None).await;
    assert!(overflow.is_err(), "{overflow:?}");
    assert_eq!(cache.get(&k).await.unwrap(), Some(max));
    keys.delete_all(&*cache).await;
}
