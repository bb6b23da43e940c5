//! A [`Metrics`] that keeps what adapters record in memory, so an adapter's
//! tests can read its instruments without depending on the telemetry adapter.
//!
//! [`RecordedMetrics::render`] writes the Prometheus text format the way the
//! OpenTelemetry exporter names things: dots become underscores, counters get
//! `_total`, labels are sorted by key. Units are not appended (tests match on
//! names of counters and gauges with curly-brace units, which the exporter
//! drops too).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

use platform_ports::metrics::{Counter, Gauge, Histogram, Label, LabelValue, Metrics, MetricsError, UpDownCounter};

type Series = BTreeMap<(String, Vec<(String, String)>), f64>;

/// Instruments recorded in memory.
#[derive(Clone, Default)]
pub struct RecordedMetrics {
    series: Arc<Mutex<Series>>,
}

impl RecordedMetrics {
    /// An empty record.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current value of `name` (Prometheus name) with exactly `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut key: Vec<(String, String)> = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        key.sort();
        self.lock().get(&(name.to_owned(), key)).copied()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Series> {
        self.series.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn instrument(&self, name: String, accumulate: bool) -> Arc<Instrument> {
        Arc::new(Instrument {
            name,
            accumulate,
            series: self.series.clone(),
        })
    }
}

fn prometheus(name: &str) -> String {
    name.replace('.', "_")
}

fn text(value: &LabelValue) -> String {
    match value {
        LabelValue::Static(v) => (*v).to_owned(),
        LabelValue::Shared(v) => v.to_string(),
        LabelValue::Owned(v) => v.clone(),
        LabelValue::Int(v) => v.to_string(),
    }
}

/// One instrument: adds to or sets its series.
struct Instrument {
    name: String,
    accumulate: bool,
    series: Arc<Mutex<Series>>,
}

impl Instrument {
    fn put(&self, value: f64, labels: &[Label]) {
        let mut key: Vec<(String, String)> = labels.iter().map(|l| (prometheus(l.key), text(&l.value))).collect();
        key.sort();
        let mut series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = series.entry((self.name.clone(), key)).or_insert(0.0);
        if self.accumulate {
            *slot += value;
        } else {
            *slot = value;
        }
    }
}

#[expect(clippy::cast_precision_loss, reason = "test counters stay far below 2^53")]
impl Counter for Instrument {
    fn add(&self, value: u64, labels: &[Label]) {
        self.put(value as f64, labels);
    }
}

#[expect(clippy::cast_precision_loss, reason = "test counters stay far below 2^53")]
impl UpDownCounter for Instrument {
    fn add(&self, value: i64, labels: &[Label]) {
        self.put(value as f64, labels);
    }
}

impl Histogram for Instrument {
    /// Keeps the sum (`<name>_sum`), which is what tests look at.
    fn record(&self, value: f64, labels: &[Label]) {
        self.put(value, labels);
    }
}

impl Gauge for Instrument {
    fn record(&self, value: f64, labels: &[Label]) {
        self.put(value, labels);
    }
}

impl Metrics for RecordedMetrics {
    fn counter(&self, name: &'static str, _: &'static str, _: &'static str) -> Arc<dyn Counter> {
        self.instrument(format!("{}_total", prometheus(name)), true)
    }

    fn up_down_counter(&self, name: &'static str, _: &'static str, _: &'static str) -> Arc<dyn UpDownCounter> {
        self.instrument(prometheus(name), true)
    }

    fn histogram(
        &self,
        name: &'static str,
        _: &'static str,
        _: &'static str,
        _: Option<Vec<f64>>,
    ) -> Arc<dyn Histogram> {
        self.instrument(format!("{}_sum", prometheus(name)), true)
    }

    fn gauge(&self, name: &'static str, _: &'static str, _: &'static str) -> Arc<dyn Gauge> {
        self.instrument(prometheus(name), false)
    }

    fn render(&self) -> Result<String, MetricsError> {
        let mut out = String::new();
        for ((name, labels), value) in self.lock().iter() {
            let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
            let _ = writeln!(out, "{name}{{{}}} {value}", labels.join(","));
        }
        Ok(out)
    }
}
