//! Metrics instruments for modules (Prometheus through OpenTelemetry in the adapter).

use std::sync::Arc;

use shaku::Interface;

/// A label value; static and shared strings cost no allocation per record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LabelValue {
    /// A literal.
    Static(&'static str),
    /// A shared string (route templates).
    Shared(Arc<str>),
    /// An owned string.
    Owned(String),
    /// An integer (status codes).
    Int(i64),
}

impl From<&'static str> for LabelValue {
    fn from(v: &'static str) -> Self {
        Self::Static(v)
    }
}
impl From<Arc<str>> for LabelValue {
    fn from(v: Arc<str>) -> Self {
        Self::Shared(v)
    }
}
impl From<String> for LabelValue {
    fn from(v: String) -> Self {
        Self::Owned(v)
    }
}
impl From<i64> for LabelValue {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}

/// One label (attribute) of a measurement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// The key, following OpenTelemetry naming (`http.request.method`).
    pub key: &'static str,
    /// The value.
    pub value: LabelValue,
}

impl Label {
    /// Builds a label.
    pub fn new(key: &'static str, value: impl Into<LabelValue>) -> Self {
        Self {
            key,
            value: value.into(),
        }
    }
}

/// A monotonic counter.
pub trait Counter: Send + Sync {
    /// Adds `value`.
    fn add(&self, value: u64, labels: &[Label]);
}

/// A counter that can go down.
pub trait UpDownCounter: Send + Sync {
    /// Adds `value` (negative to decrease).
    fn add(&self, value: i64, labels: &[Label]);
}

/// A distribution of values.
pub trait Histogram: Send + Sync {
    /// Records one value.
    fn record(&self, value: f64, labels: &[Label]);
}

/// A value that is set, not accumulated.
pub trait Gauge: Send + Sync {
    /// Sets the current value.
    fn record(&self, value: f64, labels: &[Label]);
}

/// What rendering metrics can fail with.
#[derive(Debug, thiserror::Error)]
#[error("metrics could not be rendered: {0}")]
pub struct MetricsError(pub String);

/// Creates instruments (once, at start-up) and renders them for scraping.
///
/// Names follow OpenTelemetry (`http.server.request.duration`, unit `s`);
/// the Prometheus exporter turns them into `http_server_request_duration_seconds`.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait Metrics: Interface {
    /// A counter.
    fn counter(&self, name: &'static str, description: &'static str, unit: &'static str) -> Arc<dyn Counter>;

    /// An up-down counter.
    fn up_down_counter(
        &self,
        name: &'static str,
        description: &'static str,
        unit: &'static str,
    ) -> Arc<dyn UpDownCounter>;

    /// A histogram with explicit bucket boundaries (`None`: the SDK's defaults).
    fn histogram(
        &self,
        name: &'static str,
        description: &'static str,
        unit: &'static str,
        boundaries: Option<Vec<f64>>,
    ) -> Arc<dyn Histogram>;

    /// A gauge.
    fn gauge(&self, name: &'static str, description: &'static str, unit: &'static str) -> Arc<dyn Gauge>;

    /// Every instrument in the Prometheus text exposition format.
    ///
    /// # Errors
    /// [`MetricsError`] when the exporter fails.
    fn render(&self) -> Result<String, MetricsError>;
}
