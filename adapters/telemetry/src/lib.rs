//! Prometheus metrics and OTLP traces through OpenTelemetry, W3C
//! trace-context propagation, and host health checkers.

mod checkers;
mod https;
mod metrics;
mod tracing_otlp;

pub use checkers::{DiskSpaceChecker, MemoryUsageChecker};
pub use metrics::OtelMetrics;
pub use tracing_otlp::propagation;
pub use tracing_otlp::{OtlpProtocol, OtlpSettings, OtlpTracing, TracingError};
