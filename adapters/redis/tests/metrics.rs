//! Hits and misses reach `/metrics` as `cache_requests_total{result}` and
//! the `cache_hit_ratio` gauge.

#![allow(clippy::unwrap_used, reason = "test helpers: a failed unwrap is a failed test")]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use platform_adapter_telemetry::OtelMetrics;
use platform_ports::cache::Cache;
use platform_ports::metrics::{Counter, Gauge, Histogram, Label, Metrics, MetricsError, UpDownCounter};

use common::{cache, delete_prefix, free_port, shared_redis, unique_prefix};

/// Lookups that hit, miss, hit: 2 hits of 3.
async fn two_hits_one_miss(cache: &dyn Cache, prefix: &str) {
    let key = format!("{prefix}:k");
    cache.set(&key, b"v".to_vec(), None).await.unwrap();
    assert!(cache.get(&key).await.unwrap().is_some());
    assert!(cache.get(&format!("{prefix}:absent")).await.unwrap().is_none());
    assert!(cache.exists(&key).await.unwrap());
    // Writes and TTL reads are not lookups.
    cache.increment(&format!("{prefix}:n"), None).await.unwrap();
    cache.ttl(&key).await.unwrap();
}

#[tokio::test]
async fn hits_and_misses_are_exported_to_prometheus() {
    let metrics = Arc::new(OtelMetrics::new("test").unwrap());
    let redis =
        cache(&format!("redis://127.0.0.1:{}", free_port()), Duration::from_secs(60)).with_metrics(metrics.clone());

    two_hits_one_miss(&redis, "m").await;

    assert_eq!((redis.hits(), redis.misses()), (2, 1));
    let text = metrics.render().unwrap();
    assert!(text.contains("cache_requests_total{result=\"hit\"} 2"), "{text}");
    assert!(text.contains("cache_requests_total{result=\"miss\"} 1"), "{text}");
    let ratio = text
        .lines()
        .find_map(|l| l.strip_prefix("cache_hit_ratio "))
        .unwrap_or_else(|| panic!("no cache_hit_ratio in {text}"));
    let ratio: f64 = ratio.trim().parse().unwrap();
    assert!((ratio - 2.0 / 3.0).abs() < 1e-9, "{ratio}");
}

#[tokio::test]
async fn lookups_on_redis_are_counted() {
    let Some((url, mut raw)) = shared_redis().await else {
        return;
    };
    let prefix = unique_prefix("metrics");
    let recorder = Arc::new(Recorder::default());
    let redis = cache(&url, Duration::from_secs(2)).with_metrics(recorder.clone());

    two_hits_one_miss(&redis, &prefix).await;

    assert!(!redis.is_on_fallback());
    assert_eq!(recorder.requests("hit"), 2);
    assert_eq!(recorder.requests("miss"), 1);
    let ratios = recorder.ratios.lock().unwrap().clone();
    assert_eq!(ratios, [1.0, 0.5, 2.0 / 3.0]);
    delete_prefix(&mut raw, &prefix).await;
}

#[tokio::test]
async fn instruments_are_created_once() {
    let recorder = Arc::new(Recorder::default());
    let redis = cache("redis://127.0.0.1:6379", Duration::from_secs(60))
        .with_metrics(recorder.clone())
        .with_metrics(recorder.clone());
    let _clone = redis.clone();
    assert_eq!(recorder.created.load(Ordering::SeqCst), 2);
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

struct RecordedCounter(Arc<Mutex<Vec<Vec<Label>>>>);
impl Counter for RecordedCounter {
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
        Arc::new(RecordedCounter(self.requests.clone()))
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
