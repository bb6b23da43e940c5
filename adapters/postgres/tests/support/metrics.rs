//! A metrics port that remembers what was recorded.

use std::sync::{Arc, Mutex};

use platform_ports::metrics::{Counter, Gauge, Histogram, Label, LabelValue, Metrics, MetricsError, UpDownCounter};

/// One histogram measurement: (instrument, value, labels as text).
pub type Record = (&'static str, f64, Vec<(&'static str, String)>);

/// An instrument created: (name, unit, bucket boundaries).
pub type Created = (&'static str, &'static str, Option<Vec<f64>>);

/// Records every histogram measurement and counter increment; other
/// instruments do nothing.
#[derive(Default)]
pub struct RecordingMetrics {
    /// Instruments created.
    pub created: Mutex<Vec<Created>>,
    /// Measurements.
    pub records: Arc<Mutex<Vec<Record>>>,
    /// Counter increments: (counter, amount, labels as text).
    pub counts: Arc<Mutex<Vec<Record>>>,
}

impl RecordingMetrics {
    /// Measurements labelled with `db.operation.name = operation`.
    pub fn of_operation(&self, operation: &str) -> Vec<Record> {
        self.records
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, _, labels)| labels.iter().any(|(k, v)| *k == "db.operation.name" && v == operation))
            .cloned()
            .collect()
    }

    /// The sum of `counter`'s increments labelled `key = value`.
    pub fn counted(&self, counter: &str, key: &str, value: &str) -> f64 {
        self.counts
            .lock()
            .unwrap()
            .iter()
            .filter(|(name, _, labels)| *name == counter && labels.iter().any(|(k, v)| *k == key && v == value))
            .map(|(_, amount, _)| amount)
            .sum()
    }
}

struct Recorder {
    name: &'static str,
    records: Arc<Mutex<Vec<Record>>>,
}

fn text(value: &LabelValue) -> String {
    match value {
        LabelValue::Static(s) => (*s).to_owned(),
        LabelValue::Shared(s) => s.to_string(),
        LabelValue::Owned(s) => s.clone(),
        LabelValue::Int(i) => i.to_string(),
    }
}

impl Histogram for Recorder {
    fn record(&self, value: f64, labels: &[Label]) {
        let labels = labels.iter().map(|l| (l.key, text(&l.value))).collect();
        self.records.lock().unwrap().push((self.name, value, labels));
    }
}

impl Counter for Recorder {
    fn add(&self, value: u64, labels: &[Label]) {
        let labels = labels.iter().map(|l| (l.key, text(&l.value))).collect();
        self.records
            .lock()
            .unwrap()
            .push((self.name, f64::from(u32::try_from(value).unwrap_or(u32::MAX)), labels));
    }
}

struct Nothing;

impl UpDownCounter for Nothing {
    fn add(&self, _: i64, _: &[Label]) {}
}
impl Gauge for Nothing {
    fn record(&self, _: f64, _: &[Label]) {}
}

impl Metrics for RecordingMetrics {
    fn counter(&self, name: &'static str, _: &'static str, _: &'static str) -> Arc<dyn Counter> {
        Arc::new(Recorder {
            name,
            records: Arc::clone(&self.counts),
        })
    }

    fn up_down_counter(&self, _: &'static str, _: &'static str, _: &'static str) -> Arc<dyn UpDownCounter> {
        Arc::new(Nothing)
    }

    fn histogram(
        &self,
        name: &'static str,
        _: &'static str,
        unit: &'static str,
        boundaries: Option<Vec<f64>>,
    ) -> Arc<dyn Histogram> {
        self.created.lock().unwrap().push((name, unit, boundaries));
        Arc::new(Recorder {
            name,
            records: Arc::clone(&self.records),
        })
    }

    fn gauge(&self, _: &'static str, _: &'static str, _: &'static str) -> Arc<dyn Gauge> {
        Arc::new(Nothing)
    }

    fn render(&self) -> Result<String, MetricsError> {
        Ok(String::new())
    }
}
