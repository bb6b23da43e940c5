//! Metrics, the error bus and the host checks (disk, memory).

use std::sync::Arc;

use platform_adapter_telemetry::{DiskSpaceChecker, MemoryUsageChecker, OtelMetrics};
use platform_core::errors::{ErrorBus, LogSink};
use platform_ports::error_bus::ErrorPublisher;
use platform_ports::metrics::Metrics;

use super::{Built, Parts, serve};
use crate::config::Settings;

/// The telemetry ports.
pub struct Telemetry {
    /// Shared with the adapters that record (pools, caches).
    pub metrics: Arc<dyn Metrics>,
    /// The container's handle on the same provider.
    pub metrics_port: Box<dyn Metrics>,
    /// The error bus, as the container's `ErrorPublisher`.
    pub errors: Box<dyn ErrorPublisher>,
    /// The bus itself, to add sinks.
    pub error_bus: ErrorBus,
}

/// Builds metrics (OpenTelemetry → Prometheus) and the error bus with its
/// log sink; the bus is the first service to start, so everything started
/// after it can report.
///
/// # Errors
/// None today; the signature leaves room for exporters that can fail.
pub fn build(settings: &Settings) -> anyhow::Result<Built<Telemetry>> {
    let mut parts = Parts::default();
    let otel = OtelMetrics::default();
    let metrics: Arc<dyn Metrics> = Arc::new(otel.clone());
    let metrics_port = serve!(parts, Metrics, otel);

    let error_bus = ErrorBus::new(settings.error_bus.capacity);
    error_bus.add_sink(Arc::new(LogSink));
    error_bus.set_counter(Some(metrics.counter(
        "platform.errors",
        "Errors published to the error bus",
        "{error}",
    )));
    error_bus.set_dropped_counter(Some(metrics.counter(
        "platform.errors.dropped",
        "Error reports dropped because the error bus was full",
        "{error}",
    )));
    parts.service(Arc::new(error_bus.clone()));
    let errors = serve!(parts, ErrorPublisher, error_bus.clone());

    let h = &settings.health;
    parts.check(
        "disk",
        Arc::new(DiskSpaceChecker::new(
            h.disk_path.clone(),
            h.disk_min_free_mb * 1024 * 1024,
        )),
    );
    let max_rss = (h.memory_max_rss_mb > 0).then(|| h.memory_max_rss_mb * 1024 * 1024);
    parts.check(
        "memory",
        Arc::new(MemoryUsageChecker::new(max_rss, h.memory_min_available_ratio)),
    );
    Ok(Built {
        ports: Telemetry {
            metrics,
            metrics_port,
            errors,
            error_bus,
        },
        parts,
    })
}
