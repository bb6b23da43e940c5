//! Metrics, the error bus and the host checks (disk, memory).

use std::sync::Arc;

use platform_adapter_http::TraceContext;
use platform_adapter_telemetry::{
    DiskSpaceChecker, MemoryUsageChecker, OtelMetrics, OtlpSettings, OtlpTracing, SentrySettings, SentrySink,
    propagation,
};
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
/// When `error_bus.sentry.dsn` is not a usable DSN (the message never repeats it).
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
    let sentry = &settings.error_bus.sentry;
    if !sentry.dsn.is_empty() {
        let sink = SentrySink::new(SentrySettings {
            environment: Some(settings.environment.as_str().to_owned()),
            release: Some(concat!("platform@", env!("CARGO_PKG_VERSION")).to_owned()),
            queue_capacity: sentry.queue_capacity,
            max_events_per_minute: sentry.max_events_per_minute,
            ..SentrySettings::new(sentry.dsn.clone())
        })?;
        sink.set_dropped_counter(Some(metrics.counter(
            "platform.errors.sentry.dropped",
            "Error reports not sent to Sentry (queue_full, rate_limited, unreachable, rejected)",
            "{error}",
        )));
        error_bus.add_sink(Arc::new(sink.clone()));
        // Started before the bus and stopped after it, so the bus's last
        // reports still reach the sender's queue.
        parts.service(Arc::new(sink));
    }
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

/// The OTLP trace pipeline `telemetry.otlp.*` describes, `None` when export
/// is off. Built before logging: its layer joins the subscriber.
///
/// # Errors
/// A message naming the `telemetry.otlp.*` key that cannot be used.
pub fn traces(settings: &Settings) -> anyhow::Result<Option<OtlpTracing>> {
    let c = &settings.telemetry.otlp;
    let otlp = OtlpSettings {
        enabled: c.enabled,
        endpoint: c.endpoint.clone(),
        protocol: c.protocol.parse()?,
        sampling_ratio: c.sampling_ratio,
        service_name: c.service_name.clone(),
        service_version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        environment: Some(settings.environment.as_str().to_owned()),
        timeout: c.timeout,
    };
    Ok(OtlpTracing::build(&otlp)?)
}

/// The HTTP adapter's link between a request span and its `traceparent`,
/// when traces are exported.
#[must_use]
pub fn trace_context(settings: &Settings) -> Option<TraceContext> {
    settings.telemetry.otlp.enabled.then(|| {
        Arc::new(|span: &tracing::Span, headers: &http::HeaderMap| {
            propagation::set_parent_from(span, |key| headers.get(key).and_then(|v| v.to_str().ok()));
            propagation::span_ids(span)
        }) as TraceContext
    })
}
