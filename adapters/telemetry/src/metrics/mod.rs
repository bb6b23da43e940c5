//! [`OtelMetrics`]: the metrics port on the OpenTelemetry SDK, scraped as Prometheus text.

mod instruments;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use opentelemetry::metrics::{Meter, MeterProvider as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use platform_ports::metrics::{Counter, Gauge, Histogram, Metrics, MetricsError, UpDownCounter};
use prometheus::{Registry, TextEncoder};

use instruments::{OtelCounter, OtelGauge, OtelHistogram, OtelUpDownCounter};

/// The service name used when none is configured (the shaku default).
const DEFAULT_SERVICE_NAME: &str = "platform";

/// The instrumentation scope of every instrument (not exported as a label).
const METER_NAME: &str = "platform";

/// Prometheus metrics through OpenTelemetry, one meter provider per instance.
///
/// Each instance owns its provider and Prometheus registry: nothing is
/// recorded in the global provider, so several servers can run in one
/// process (tests) without sharing counts. Clones share the provider: the
/// composition root hands one to the container and others to the adapters
/// that record.
#[derive(Clone, shaku::Component)]
#[shaku(interface = Metrics)]
pub struct OtelMetrics {
    #[shaku(force_default)]
    pipeline: Arc<Pipeline>,
}

impl OtelMetrics {
    /// Builds a provider exporting to a fresh Prometheus registry.
    ///
    /// # Errors
    /// [`MetricsError`] when the exporter cannot be registered.
    pub fn new(service_name: &str) -> Result<Self, MetricsError> {
        Ok(Self {
            pipeline: Arc::new(Pipeline::build(service_name)?),
        })
    }
}

impl Default for OtelMetrics {
    /// Builds with the service name `platform`; if the exporter cannot be built it logs
    /// the error and records into a provider without exporter (`render` then fails).
    fn default() -> Self {
        Self {
            pipeline: Arc::new(Pipeline::default()),
        }
    }
}

/// The provider, its meter and the registry the exporter writes to.
struct Pipeline {
    /// Kept alive on purpose: dropping the last provider shuts the instruments down.
    _provider: SdkMeterProvider,
    meter: Meter,
    /// The registry to scrape, or why the exporter could not be built.
    registry: Result<Registry, String>,
}

impl Pipeline {
    fn build(service_name: &str) -> Result<Self, MetricsError> {
        let registry = Registry::new();
        let exporter = opentelemetry_prometheus::exporter()
            .with_registry(registry.clone())
            // Scrapes carry only the labels the code records: no `otel_scope_*`
            // on every series and no `target_info` family.
            .without_target_info()
            .scope_info_enabled(false)
            .build()
            .map_err(|e| MetricsError(format!("the Prometheus exporter could not be built: {e}")))?;
        let resource = Resource::builder_empty()
            .with_service_name(service_name.to_owned())
            .build();
        let provider = SdkMeterProvider::builder()
            .with_resource(resource)
            .with_reader(exporter)
            .build();
        Ok(Self::from_provider(provider, Ok(registry)))
    }

    /// A provider with no reader: instruments work and record nothing.
    fn without_exporter(reason: String) -> Self {
        Self::from_provider(SdkMeterProvider::builder().build(), Err(reason))
    }

    fn from_provider(provider: SdkMeterProvider, registry: Result<Registry, String>) -> Self {
        let meter = provider.meter(METER_NAME);
        Self {
            _provider: provider,
            meter,
            registry,
        }
    }
}

impl Default for Pipeline {
    /// Never fails: without an exporter the service still runs, and
    /// `render` reports why metrics are missing.
    fn default() -> Self {
        Self::build(DEFAULT_SERVICE_NAME).unwrap_or_else(|err| {
            tracing::error!(error = %err, "metrics disabled: recording into a provider without exporter");
            Self::without_exporter(err.0)
        })
    }
}

impl Metrics for OtelMetrics {
    fn counter(&self, name: &'static str, description: &'static str, unit: &'static str) -> Arc<dyn Counter> {
        let counter = self
            .pipeline
            .meter
            .u64_counter(name)
            .with_description(description)
            .with_unit(unit)
            .build();
        Arc::new(OtelCounter(counter))
    }

    fn up_down_counter(
        &self,
        name: &'static str,
        description: &'static str,
        unit: &'static str,
    ) -> Arc<dyn UpDownCounter> {
        let counter = self
            .pipeline
            .meter
            .i64_up_down_counter(name)
            .with_description(description)
            .with_unit(unit)
            .build();
        Arc::new(OtelUpDownCounter(counter))
    }

    fn histogram(
        &self,
        name: &'static str,
        description: &'static str,
        unit: &'static str,
        boundaries: Option<Vec<f64>>,
    ) -> Arc<dyn Histogram> {
        let builder = self
            .pipeline
            .meter
            .f64_histogram(name)
            .with_description(description)
            .with_unit(unit);
        let builder = match boundaries {
            Some(boundaries) => builder.with_boundaries(boundaries),
            None => builder,
        };
        Arc::new(OtelHistogram(builder.build()))
    }

    fn gauge(&self, name: &'static str, description: &'static str, unit: &'static str) -> Arc<dyn Gauge> {
        let gauge = self
            .pipeline
            .meter
            .f64_gauge(name)
            .with_description(description)
            .with_unit(unit)
            .build();
        Arc::new(OtelGauge(gauge))
    }

    fn render(&self) -> Result<String, MetricsError> {
        let registry = self
            .pipeline
            .registry
            .as_ref()
            .map_err(|reason| MetricsError(reason.clone()))?;
        TextEncoder::new()
            .encode_to_string(&registry.gather())
            .map_err(|e| MetricsError(e.to_string()))
    }
}
