//! The port's instruments as thin wrappers around OpenTelemetry instruments.

use std::sync::Arc;

use opentelemetry::metrics as otel;
use opentelemetry::{Key, KeyValue, Value};
use platform_ports::metrics::{Counter, Gauge, Histogram, Label, LabelValue, UpDownCounter};
use smallvec::SmallVec;

/// Attributes of one measurement; requests carry few labels, so they stay on the stack.
type Attributes = SmallVec<[KeyValue; 8]>;

/// Converts labels to OpenTelemetry attributes; only [`LabelValue::Owned`] allocates.
pub(super) fn attributes(labels: &[Label]) -> Attributes {
    labels.iter().map(key_value).collect()
}

fn key_value(label: &Label) -> KeyValue {
    let value = match &label.value {
        LabelValue::Static(s) => Value::from(*s),
        LabelValue::Shared(s) => Value::from(Arc::clone(s)),
        LabelValue::Owned(s) => Value::from(s.clone()),
        LabelValue::Int(i) => Value::I64(*i),
    };
    KeyValue::new(Key::from_static_str(label.key), value)
}

/// A monotonic counter.
pub(super) struct OtelCounter(pub(super) otel::Counter<u64>);

impl Counter for OtelCounter {
    fn add(&self, value: u64, labels: &[Label]) {
        self.0.add(value, &attributes(labels));
    }
}

/// A counter that can go down.
pub(super) struct OtelUpDownCounter(pub(super) otel::UpDownCounter<i64>);

impl UpDownCounter for OtelUpDownCounter {
    fn add(&self, value: i64, labels: &[Label]) {
        self.0.add(value, &attributes(labels));
    }
}

/// A histogram.
pub(super) struct OtelHistogram(pub(super) otel::Histogram<f64>);

impl Histogram for OtelHistogram {
    fn record(&self, value: f64, labels: &[Label]) {
        self.0.record(value, &attributes(labels));
    }
}

/// A gauge.
pub(super) struct OtelGauge(pub(super) otel::Gauge<f64>);

impl Gauge for OtelGauge {
    fn record(&self, value: f64, labels: &[Label]) {
        self.0.record(value, &attributes(labels));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::StringValue;

    #[test]
    fn labels_keep_their_keys_and_values() {
        let route: Arc<str> = Arc::from("/api/v1/posts/{id}");
        let labels = [
            Label::new("http.request.method", "GET"),
            Label::new("http.route", Arc::clone(&route)),
            Label::new("http.response.status_code", 200_i64),
            Label::new("tenant", String::from("acme")),
        ];
        let attrs = attributes(&labels);
        assert_eq!(attrs.len(), 4);
        assert!(!attrs.spilled(), "a request's labels fit on the stack");
        assert_eq!(attrs[0].key.as_str(), "http.request.method");
        assert_eq!(attrs[0].value, Value::String(StringValue::from("GET")));
        assert_eq!(attrs[1].value.as_str(), "/api/v1/posts/{id}");
        assert_eq!(attrs[2].value, Value::I64(200));
        assert_eq!(attrs[3].value.as_str(), "acme");
    }

    #[test]
    fn shared_values_are_not_copied() {
        let route: Arc<str> = Arc::from("/r");
        let labels = [Label::new("http.route", Arc::clone(&route))];
        let attrs = attributes(&labels);
        // The attribute holds one more reference to the same string, not a copy.
        assert_eq!(Arc::strong_count(&route), 3);
        drop(attrs);
        assert_eq!(Arc::strong_count(&route), 2);
    }
}
