//! The W3C trace context that follows work out of a request: stamped on the
//! events a use case writes to the outbox and the jobs it enqueues, and
//! entered again by whoever handles them (a bus subscriber, a Kafka
//! consumer, a job worker), so one trace runs from the request to the worker.
//!
//! Only the telemetry adapter knows OpenTelemetry; it installs a
//! [`TracePropagator`] once, when traces are exported. Like `tracing`'s own
//! dispatcher the propagator is process-wide: the current span is ambient
//! state already, and threading a handle through every use case, bus and
//! queue would only carry the same answer further. Until one is installed
//! (export off), [`current_traceparent`] answers `None` and [`follow`] does
//! nothing, at the cost of one atomic load.

use std::sync::OnceLock;

/// Reads and writes the trace context of `tracing` spans as W3C `traceparent` values.
pub trait TracePropagator: Send + Sync {
    /// The `traceparent` of the span the caller is in (`00-<trace>-<span>-<flags>`),
    /// `None` outside a trace.
    fn current(&self) -> Option<String>;

    /// Makes `traceparent` the parent of `span`; call it before the span is
    /// first entered. An invalid value leaves the span as it was (a new
    /// trace, or a child of the span it was created in).
    fn adopt(&self, span: &tracing::Span, traceparent: &str);
}

static PROPAGATOR: OnceLock<Box<dyn TracePropagator>> = OnceLock::new();

/// Installs the process's propagator; `false` when one was installed already
/// (the first one stays: several platforms in one test process share it).
pub fn install(propagator: Box<dyn TracePropagator>) -> bool {
    PROPAGATOR.set(propagator).is_ok()
}

/// The `traceparent` of the current span, to stamp on outgoing work;
/// `None` outside a trace or when no propagator is installed.
#[must_use]
pub fn current_traceparent() -> Option<String> {
    PROPAGATOR.get()?.current()
}

/// Makes the carried `traceparent` (when there is one) the parent of `span`,
/// before the span is first entered.
pub fn follow(span: &tracing::Span, traceparent: Option<&str>) {
    if let (Some(propagator), Some(traceparent)) = (PROPAGATOR.get(), traceparent) {
        propagator.adopt(span, traceparent);
    }
}

/// Whether a propagator is installed (traces are exported).
#[must_use]
pub fn is_installed() -> bool {
    PROPAGATOR.get().is_some()
}
