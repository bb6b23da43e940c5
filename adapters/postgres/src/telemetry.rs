//! A span and a duration measurement around every statement.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use platform_ports::metrics::{Counter, Histogram, Label, Metrics};

use crate::scope::Bypass;
use tracing::Instrument;

/// Bucket boundaries (seconds) advised by OpenTelemetry's database conventions.
const DURATION_BOUNDARIES: [f64; 9] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0];

/// The instruments every statement records into, created once per database.
#[derive(Clone, Default)]
pub(crate) struct DbTelemetry {
    duration: Option<Arc<dyn Histogram>>,
    bypasses: Option<Arc<dyn Counter>>,
}

impl DbTelemetry {
    /// Creates the histogram when a metrics port is given.
    pub(crate) fn new(metrics: Option<&dyn Metrics>) -> Self {
        Self {
            duration: metrics.map(|metrics| {
                metrics.histogram(
                    "db.client.operation.duration",
                    "Duration of database client operations.",
                    "s",
                    Some(DURATION_BOUNDARIES.to_vec()),
                )
            }),
            bypasses: metrics.map(|metrics| {
                metrics.counter(
                    "db.rls.bypasses",
                    "Transactions that crossed tenants through a named row-level-security bypass.",
                    "{transaction}",
                )
            }),
        }
    }

    /// Counts and logs one use of a row-level-security bypass.
    pub(crate) fn bypassed(&self, bypass: Bypass) {
        tracing::debug!(reason = bypass.reason(), "row-level security bypassed");
        if let Some(counter) = &self.bypasses {
            counter.add(1, &[Label::new("reason", bypass.reason())]);
        }
    }

    /// Runs one statement inside a `db.query` span and records how long it took.
    ///
    /// `operation` is a static, low-cardinality name (`users.find_by_id`):
    /// it labels the histogram and costs no allocation.
    pub(crate) async fn observe<T, E>(
        &self,
        operation: &'static str,
        statement: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let span = tracing::info_span!(
            "db.query",
            db.system = "postgresql",
            db.operation = operation,
            otel.kind = "client",
        );
        let started = Instant::now();
        let result = statement.instrument(span).await;
        if let Some(duration) = &self.duration {
            duration.record(
                started.elapsed().as_secs_f64(),
                &[
                    Label::new("db.operation.name", operation),
                    Label::new("db.system", "postgresql"),
                ],
            );
        }
        result
    }
}

impl fmt::Debug for DbTelemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbTelemetry")
            .field("metrics", &self.duration.is_some())
            .finish()
    }
}
