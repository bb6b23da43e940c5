//! The fallback cache over fakes: a primary that can be taken down, refuse
//! deletions or answer errors, and fallbacks the test can look into.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use platform_ports::cache::{Cache, CacheError};
use platform_ports::health::{HealthChecker, HealthStatus};
use platform_ports::metrics::{Counter, Gauge, Histogram, Label, Metrics, MetricsError, UpDownCounter};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

use super::{FallbackCache, FallbackSettings};

const RETRY: Duration = Duration::from_millis(500);

/// A map that answers `Unavailable` while `down`.
#[derive(Default)]
struct Fake {
    values: Mutex<HashMap<String, Vec<u8>>>,
    down: AtomicBool,
    refuse_deletes: AtomicBool,
}

impl Fake {
    fn reachable(&self) -> Result<(), CacheError> {
        if self.down.load(Ordering::SeqCst) {
            Err(CacheError::Unavailable("connection refused".into()))
        } else {
            Ok(())
        }
    }

    fn holds(&self, key: &str) -> bool {
        self.values.lock().unwrap().contains_key(key)
    }
}

#[async_trait]
impl Cache for Fake {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        self.reachable()?;
        Ok(self.values.lock().unwrap().get(key).cloned())
    }
    async fn set(&self, key: &str, value: Vec<u8>, _: Option<Duration>) -> Result<(), CacheError> {
        self.reachable()?;
        self.values.lock().unwrap().insert(key.to_owned(), value);
        Ok(())
    }
    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.reachable()?;
        if self.refuse_deletes.load(Ordering::SeqCst) {
            return Err(CacheError::Backend("read-only replica".into()));
        }
        self.values.lock().unwrap().remove(key);
        Ok(())
    }
    async fn exists(&self, key: &str) -> Result<bool, CacheError> {
        self.reachable()?;
        Ok(self.holds(key))
    }
    async fn increment(&self, key: &str, _: Option<Duration>) -> Result<i64, CacheError> {
        self.reachable()?;
        let mut values = self.values.lock().unwrap();
        let current = match values.get(key) {
            None => 0,
            Some(bytes) => std::str::from_utf8(bytes)
                .ok()
                .and_then(|text| text.parse::<i64>().ok())
                .ok_or(CacheError::NotAnInteger)?,
        };
        values.insert(key.to_owned(), (current + 1).to_string().into_bytes());
        Ok(current + 1)
    }
    async fn ttl(&self, _: &str) -> Result<Option<Duration>, CacheError> {
        self.reachable()?;
        Ok(None)
    }
}

/// A fallback cache over a fresh primary; every fallback it makes is kept.
struct Setup {
    primary: Arc<Fake>,
    fallbacks: Arc<Mutex<Vec<Arc<Fake>>>>,
    cache: FallbackCache,
}

impl Setup {
    fn new() -> Self {
        let primary = Arc::new(Fake::default());
        let fallbacks: Arc<Mutex<Vec<Arc<Fake>>>> = Arc::default();
        let made = Arc::clone(&fallbacks);
        let cache = FallbackCache::new(
            primary.clone(),
            move || {
                let fallback = Arc::new(Fake::default());
                made.lock().unwrap().push(Arc::clone(&fallback));
                fallback
            },
            FallbackSettings {
                primary: "redis://cache:6379".to_owned(),
                retry_interval: RETRY,
            },
        );
        Self {
            primary,
            fallbacks,
            cache,
        }
    }

    fn down(&self, down: bool) {
        self.primary.down.store(down, Ordering::SeqCst);
    }

    fn fallback(&self, nth: usize) -> Arc<Fake> {
        Arc::clone(&self.fallbacks.lock().unwrap()[nth])
    }

    fn fallbacks_made(&self) -> usize {
        self.fallbacks.lock().unwrap().len()
    }
}

fn degraded() -> HealthStatus {
    HealthStatus::Degraded("redis://cache:6379 unreachable; serving from the fallback cache".to_owned())
}

#[tokio::test]
async fn the_primary_serves_while_it_answers() {
    let s = Setup::new();
    s.cache.set("k", b"v".to_vec(), None).await.unwrap();
    assert_eq!(s.cache.get("k").await.unwrap(), Some(b"v".to_vec()));
    assert_eq!(s.cache.increment("n", None).await.unwrap(), 1);
    assert!(s.primary.holds("k") && s.primary.holds("n"));
    assert!(!s.fallback(0).holds("k"));
    assert!(!s.cache.is_on_fallback());
    assert_eq!(s.cache.health_checker().check().await.unwrap(), HealthStatus::Up);
}

#[tokio::test]
async fn errors_the_primary_answers_with_are_returned_not_an_outage() {
    let s = Setup::new();
    s.cache.set("k", b"text".to_vec(), None).await.unwrap();
    assert!(matches!(
        s.cache.increment("k", None).await,
        Err(CacheError::NotAnInteger)
    ));
    assert!(!s.cache.is_on_fallback());
}

#[tokio::test]
async fn concurrent_requests_that_find_the_primary_gone_switch_once_and_warn_once() {
    let (logs, _guard) = capture_logs();
    let s = Setup::new();
    s.down(true);
    let writes = (0..16u8).map(|i| {
        let cache = s.cache.clone();
        async move { cache.set(&format!("k{i}"), vec![i], None).await }
    });
    for written in futures::future::join_all(writes).await {
        written.unwrap();
    }
    for i in 0..16u8 {
        assert_eq!(s.cache.get(&format!("k{i}")).await.unwrap(), Some(vec![i]));
    }
    assert!(s.cache.is_on_fallback());
    assert_eq!(s.cache.increment("n", None).await.unwrap(), 1);
    assert_eq!(s.cache.health_checker().check().await.unwrap(), degraded());
    assert_eq!(s.fallbacks_made(), 1, "one fallback for the whole outage");
    assert_eq!(logs.count(Level::WARN, "cache unreachable"), 1, "{}", logs.dump());
}

#[tokio::test(start_paused = true)]
async fn while_the_primary_stays_down_it_is_retried_quietly() {
    let (logs, _guard) = capture_logs();
    let s = Setup::new();
    s.down(true);
    s.cache.set("k", b"v".to_vec(), None).await.unwrap();
    tokio::time::sleep(RETRY * 5).await;
    assert!(s.cache.is_on_fallback());
    assert_eq!(s.cache.get("k").await.unwrap(), Some(b"v".to_vec()));
    assert_eq!(logs.count(Level::WARN, "cache unreachable"), 1, "{}", logs.dump());
    assert_eq!(logs.count(Level::INFO, "reachable again"), 0, "{}", logs.dump());
}

#[tokio::test(start_paused = true)]
async fn when_the_primary_is_back_changes_made_meanwhile_win_and_the_fallback_is_dropped() {
    let (logs, _guard) = capture_logs();
    let s = Setup::new();
    s.cache.set("user:1:permissions", b"old".to_vec(), None).await.unwrap();
    s.cache.set("user:2:permissions", b"kept".to_vec(), None).await.unwrap();

    s.down(true);
    // An invalidation and a write made during the outage.
    s.cache.delete("user:1:permissions").await.unwrap();
    s.cache.set("during", b"2".to_vec(), None).await.unwrap();
    assert_eq!(s.cache.get("user:1:permissions").await.unwrap(), None);
    assert_eq!(s.cache.get("during").await.unwrap(), Some(b"2".to_vec()));

    s.down(false);
    tokio::time::sleep(RETRY + Duration::from_millis(10)).await;
    assert!(!s.cache.is_on_fallback());
    // The primary kept the old value through the outage; the deletion made
    // meanwhile is applied, the untouched key is still served.
    assert_eq!(s.cache.get("user:1:permissions").await.unwrap(), None);
    assert_eq!(s.cache.get("user:2:permissions").await.unwrap(), Some(b"kept".to_vec()));
    // The outage's write lived only in the fallback, which is gone.
    assert_eq!(s.cache.get("during").await.unwrap(), None);
    assert_eq!(s.fallbacks_made(), 2);
    assert!(s.fallback(0).holds("during"), "the old fallback is no longer read");
    assert_eq!(s.cache.health_checker().check().await.unwrap(), HealthStatus::Up);
    assert_eq!(logs.count(Level::WARN, "cache unreachable"), 1, "{}", logs.dump());
    assert_eq!(logs.count(Level::INFO, "reachable again"), 1, "{}", logs.dump());

    // The next outage starts from an empty fallback.
    s.down(true);
    assert_eq!(s.cache.get("during").await.unwrap(), None);
    assert!(s.cache.is_on_fallback());
}

#[tokio::test(start_paused = true)]
async fn the_fallback_serves_until_the_changed_keys_are_dropped_from_the_primary() {
    let (_logs, _guard) = capture_logs();
    let s = Setup::new();
    s.cache.set("k", b"old".to_vec(), None).await.unwrap();
    s.down(true);
    s.cache.delete("k").await.unwrap();

    s.primary.refuse_deletes.store(true, Ordering::SeqCst);
    s.down(false);
    tokio::time::sleep(RETRY * 3).await;
    assert!(s.cache.is_on_fallback(), "the primary still holds the stale value");
    assert_eq!(s.cache.get("k").await.unwrap(), None);

    s.primary.refuse_deletes.store(false, Ordering::SeqCst);
    tokio::time::sleep(RETRY * 2).await;
    assert!(!s.cache.is_on_fallback());
    assert!(!s.primary.holds("k"));
}

#[tokio::test]
async fn the_health_check_notices_an_outage_before_any_request() {
    let (_logs, _guard) = capture_logs();
    let s = Setup::new();
    s.down(true);
    assert!(!s.cache.is_on_fallback());
    assert_eq!(s.cache.health_checker().check().await.unwrap(), degraded());
    assert!(s.cache.is_on_fallback());
}

#[tokio::test]
async fn lookups_are_counted_wherever_they_are_served() {
    let (_logs, _guard) = capture_logs();
    let recorder = Arc::new(Recorder::default());
    let s = Setup::new();
    let cache = s.cache.clone().with_metrics(recorder.clone());
    two_hits_one_miss(&cache).await;
    s.down(true);
    two_hits_one_miss(&cache).await;
    assert!(cache.is_on_fallback());
    assert_eq!((cache.hits(), cache.misses()), (4, 2));
    assert_eq!(recorder.requests("hit"), 4);
    assert_eq!(recorder.requests("miss"), 2);
    let ratios = recorder.ratios.lock().unwrap().clone();
    assert_eq!(ratios[..3], [1.0, 0.5, 2.0 / 3.0]);
}

#[test]
fn instruments_are_created_once() {
    let recorder = Arc::new(Recorder::default());
    let cache = Setup::new()
        .cache
        .with_metrics(recorder.clone())
        .with_metrics(recorder.clone());
    let _clone = cache.clone();
    assert_eq!(recorder.created.load(Ordering::SeqCst), 2);
}

/// Lookups that hit, miss, hit; writes and TTL reads are not lookups.
async fn two_hits_one_miss(cache: &dyn Cache) {
    cache.set("k", b"v".to_vec(), None).await.unwrap();
    assert!(cache.get("k").await.unwrap().is_some());
    assert!(cache.get("absent").await.unwrap().is_none());
    assert!(cache.exists("k").await.unwrap());
    cache.increment("n", None).await.unwrap();
    cache.ttl("k").await.unwrap();
}

/// Records what the cache reports.
#[derive(Default)]
struct Recorder {
    created: AtomicUsize,
    requests: Arc<Mutex<Vec<Vec<Label>>>>,
    ratios: Arc<Mutex<Vec<f64>>>,
}

impl Recorder {
    fn requests(&self, result: &'static str) -> usize {
        let wanted = [Label::new("result", result)];
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|labels| **labels == wanted)
            .count()
    }
}

struct Recorded(Arc<Mutex<Vec<Vec<Label>>>>);
impl Counter for Recorded {
    fn add(&self, value: u64, labels: &[Label]) {
        for _ in 0..value {
            self.0.lock().unwrap().push(labels.to_vec());
        }
    }
}

struct RecordedGauge(Arc<Mutex<Vec<f64>>>);
impl Gauge for RecordedGauge {
    fn record(&self, value: f64, _: &[Label]) {
        self.0.lock().unwrap().push(value);
    }
}

struct Unused;
impl UpDownCounter for Unused {
    fn add(&self, _: i64, _: &[Label]) {}
}
impl Histogram for Unused {
    fn record(&self, _: f64, _: &[Label]) {}
}

impl Metrics for Recorder {
    fn counter(&self, name: &'static str, _: &'static str, _: &'static str) -> Arc<dyn Counter> {
        assert_eq!(name, "cache.requests");
        self.created.fetch_add(1, Ordering::SeqCst);
        Arc::new(Recorded(self.requests.clone()))
    }
    fn gauge(&self, name: &'static str, _: &'static str, _: &'static str) -> Arc<dyn Gauge> {
        assert_eq!(name, "cache.hit_ratio");
        self.created.fetch_add(1, Ordering::SeqCst);
        Arc::new(RecordedGauge(self.ratios.clone()))
    }
    fn up_down_counter(&self, _: &'static str, _: &'static str, _: &'static str) -> Arc<dyn UpDownCounter> {
        Arc::new(Unused)
    }
    fn histogram(&self, _: &'static str, _: &'static str, _: &'static str, _: Option<Vec<f64>>) -> Arc<dyn Histogram> {
        Arc::new(Unused)
    }
    fn render(&self) -> Result<String, MetricsError> {
        Ok(String::new())
    }
}

/// Log events of the fallback, by level and message.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<(Level, String)>>>);

impl Logs {
    fn count(&self, level: Level, text: &str) -> usize {
        let events = self.0.lock().unwrap();
        events.iter().filter(|(l, m)| *l == level && m.contains(text)).count()
    }

    fn dump(&self) -> String {
        let events = self.0.lock().unwrap();
        events.iter().fold(String::new(), |mut out, (level, message)| {
            let _ = writeln!(out, "{level} {message}");
            out
        })
    }
}

struct Capture(Logs);

struct Message<'a>(&'a mut String);

impl Visit for Message<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        }
    }
}

impl<S: Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if !event.metadata().target().starts_with("platform_core::cache") {
            return;
        }
        let mut message = String::new();
        event.record(&mut Message(&mut message));
        self.0.0.lock().unwrap().push((*event.metadata().level(), message));
    }
}

/// This thread's events until the guard drops (the tests run on a
/// current-thread runtime, so the retry task logs here too).
///
/// Every test that can log from the cache holds one, even if it reads no
/// logs: tracing caches a callsite's interest when it first fires, and a
/// test that fired it with no subscriber of its own, at the moment another
/// test was installing one, could leave it cached as "never", and that test
/// then counted no warning (CI saw it once).
fn capture_logs() -> (Logs, tracing::subscriber::DefaultGuard) {
    let logs = Logs::default();
    let subscriber = tracing_subscriber::registry().with(Capture(logs.clone()));
    (logs, tracing::subscriber::set_default(subscriber))
}
