//! Prometheus metrics through OpenTelemetry, and host health checkers.

mod checkers;
mod metrics;

pub use checkers::{DiskSpaceChecker, MemoryUsageChecker};
pub use metrics::OtelMetrics;
