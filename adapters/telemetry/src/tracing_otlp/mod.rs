//! Traces over OTLP: a `tracing_subscriber` layer (tracing-opentelemetry)
//! feeding a batch exporter that speaks gRPC (tonic) or HTTP/protobuf, with a
//! parent-based ratio sampler, and the handle that flushes it on shutdown.
//!
//! Off by default: when `enabled` is false nothing is built and no layer is
//! installed, so a request pays nothing for tracing it does not export.
//! Building the pipeline also installs the process's trace propagator
//! (`platform_ports::telemetry`), which stamps the current trace on events
//! and jobs and lets their consumers continue it.

mod exporter;
pub mod propagation;
mod settings;
#[cfg(test)]
mod tests;

use std::fmt;

use async_trait::async_trait;
use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider};
use platform_ports::BoxError;
use platform_ports::lifecycle::BackgroundService;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::registry::LookupSpan;

pub use settings::{OtlpProtocol, OtlpSettings};

/// The instrumentation scope of every span the layer exports.
const TRACER_NAME: &str = "platform";

/// What building or flushing the trace pipeline can fail with.
#[derive(Debug, thiserror::Error)]
pub enum TracingError {
    /// A `telemetry.otlp.*` setting cannot be used.
    #[error("telemetry.otlp.{key}: {message}")]
    Settings {
        /// The key under `telemetry.otlp`.
        key: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The exporter could not be built.
    #[error("the OTLP span exporter could not be built")]
    Exporter(#[source] BoxError),
    /// Flushing or shutting down failed (the collector did not take the spans).
    #[error("the OTLP span pipeline could not be flushed")]
    Flush(#[source] BoxError),
}

/// The running trace pipeline: hands out the layer, flushes and shuts down.
/// Clones share one pipeline.
#[derive(Clone)]
pub struct OtlpTracing {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
}

impl fmt::Debug for OtlpTracing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpTracing").finish_non_exhaustive()
    }
}

impl OtlpTracing {
    /// The pipeline `settings` describe, `None` when export is off. Call it
    /// inside the Tokio runtime: the gRPC channel's worker runs there.
    ///
    /// # Errors
    /// [`TracingError::Settings`] naming the key, [`TracingError::Exporter`].
    pub fn build(settings: &OtlpSettings) -> Result<Option<Self>, TracingError> {
        if !settings.enabled {
            return Ok(None);
        }
        settings.validate()?;
        let exporter = exporter::build(settings)?;
        let mut resource = Resource::builder().with_service_name(settings.service_name.clone());
        if let Some(version) = &settings.service_version {
            resource = resource.with_attribute(KeyValue::new("service.version", version.clone()));
        }
        if let Some(environment) = &settings.environment {
            resource = resource.with_attribute(KeyValue::new("deployment.environment.name", environment.clone()));
        }
        // Parent-based: a caller's sampling decision (the `traceparent` flag)
        // wins, so one trace is never half exported; new traces use the ratio.
        let sampler = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(settings.sampling_ratio)));
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_sampler(sampler)
            .with_resource(resource.build())
            .build();
        let tracer = provider.tracer(TRACER_NAME);
        // From now on events and jobs carry the trace of the span that made
        // them, and the bus and queue workers continue it.
        propagation::install();
        Ok(Some(Self { provider, tracer }))
    }

    /// The layer to add to the subscriber: every `tracing` span becomes an
    /// OpenTelemetry span. Per-span thread, code-location and busy/idle
    /// attributes are left out; they cost time on every span and say little.
    #[must_use]
    pub fn layer<S>(&self) -> OpenTelemetryLayer<S, SdkTracer>
    where
        S: tracing::Subscriber + for<'span> LookupSpan<'span>,
    {
        tracing_opentelemetry::layer()
            .with_tracer(self.tracer.clone())
            .with_tracked_inactivity(false)
            .with_threads(false)
            .with_location(false)
            .with_level(false)
    }

    /// Exports every finished span now (blocks until the collector answered
    /// or the timeout passed).
    ///
    /// # Errors
    /// [`TracingError::Flush`].
    pub fn force_flush(&self) -> Result<(), TracingError> {
        self.provider
            .force_flush()
            .map_err(|e| TracingError::Flush(Box::new(e)))
    }

    /// Flushes and stops the exporter; spans ended afterwards are dropped.
    ///
    /// # Errors
    /// [`TracingError::Flush`].
    pub fn shutdown(&self) -> Result<(), TracingError> {
        self.provider.shutdown().map_err(|e| TracingError::Flush(Box::new(e)))
    }
}

/// Started with the platform, stopped last: `stop` flushes what is queued.
#[async_trait]
impl BackgroundService for OtlpTracing {
    fn name(&self) -> &'static str {
        "otlp-traces"
    }

    async fn start(&self) -> Result<(), BoxError> {
        Ok(())
    }

    async fn stop(&self) -> Result<(), BoxError> {
        // The SDK's shutdown blocks on the exporter thread.
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.shutdown())
            .await
            .map_err(|e| format!("the OTLP shutdown task failed: {e}"))?
            .map_err(Into::into)
    }
}
