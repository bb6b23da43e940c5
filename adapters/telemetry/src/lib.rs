//! Prometheus metrics and OTLP traces through OpenTelemetry, W3C
//! trace-context propagation, the Sentry error sink, and host health checkers.

mod checkers;
mod https;
mod metrics;
mod sentry;
mod tracing_otlp;

pub use checkers::{DiskSpaceChecker, MemoryUsageChecker};
pub use metrics::OtelMetrics;
pub use sentry::{SentryError, SentrySettings, SentrySink};
pub use tracing_otlp::propagation;
pub use tracing_otlp::{OtlpProtocol, OtlpSettings, OtlpTracing, TracingError};
