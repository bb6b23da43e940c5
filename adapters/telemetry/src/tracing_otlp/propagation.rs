//! W3C Trace Context (`traceparent`, `tracestate`) in and out of plain
//! string headers, so the HTTP, Kafka and job adapters carry one trace
//! without depending on each other or on OpenTelemetry's types.
//!
//! Reading and writing go through closures: an `http::HeaderMap`, Kafka
//! headers and a job's metadata map each adapt in one line. Without the OTLP
//! layer installed, the span-based helpers do nothing and return `None`;
//! [`TraceParent::parse`] works either way (for log fields).

use std::collections::HashMap;
use std::marker::PhantomData;

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator as _};
use opentelemetry::trace::{SpanContext, TraceContextExt as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The W3C header that carries the trace id, the parent span id and the sampled flag.
pub const TRACEPARENT: &str = "traceparent";
/// The W3C header with vendor-specific trace state.
pub const TRACESTATE: &str = "tracestate";

/// Reads headers through a closure; the marker ties the answers' lifetime to the reader.
struct Reader<'a, F>(F, PhantomData<&'a str>);

impl<'a, F: Fn(&str) -> Option<&'a str>> Extractor for Reader<'a, F> {
    fn get(&self, key: &str) -> Option<&str> {
        let value = (self.0)(key)?;
        // The SDK parses the ids as numbers and so accepts short ones; W3C
        // asks for exact lengths, and a wrong one must start a new trace.
        (key != TRACEPARENT || well_formed(value.trim())).then_some(value)
    }

    fn keys(&self) -> Vec<&str> {
        [TRACEPARENT, TRACESTATE]
            .into_iter()
            .filter(|k| (self.0)(k).is_some())
            .collect()
    }
}

/// `vv-{32 hex}-{16 hex}-ff[-…]`, lengths as W3C Trace Context requires.
fn well_formed(traceparent: &str) -> bool {
    let lengths = [2, 32, 16, 2];
    let mut parts = traceparent.split('-');
    lengths.iter().all(|len| {
        parts
            .next()
            .is_some_and(|part| part.len() == *len && part.bytes().all(|b| b.is_ascii_hexdigit()))
    })
}

struct Writer<F>(F);

impl<F: FnMut(&'static str, String)> Injector for Writer<F> {
    fn set(&mut self, key: &str, value: String) {
        // The propagator only writes the two W3C names.
        let key = if key == TRACESTATE { TRACESTATE } else { TRACEPARENT };
        (self.0)(key, value);
    }
}

/// A valid incoming trace context, ids as lower-case hex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceParent {
    /// 32 hex digits.
    pub trace_id: String,
    /// The caller's span, 16 hex digits.
    pub parent_span_id: String,
    /// The caller's sampling decision.
    pub sampled: bool,
}

impl TraceParent {
    /// Parses a `traceparent` value; `None` when it is absent or invalid
    /// (an all-zero id, a bad version, wrong lengths).
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        let context = remote_context(|key| (key == TRACEPARENT).then_some(value));
        context.is_valid().then(|| Self {
            trace_id: context.trace_id().to_string(),
            parent_span_id: context.span_id().to_string(),
            sampled: context.is_sampled(),
        })
    }
}

fn remote_context<'a>(get: impl Fn(&str) -> Option<&'a str>) -> SpanContext {
    let context = TraceContextPropagator::new().extract(&Reader(get, PhantomData));
    context.span().span_context().clone()
}

/// Makes the trace context read through `get` (`traceparent`, `tracestate`)
/// the parent of `span`, before the span is first entered. Returns the
/// incoming context when the header was valid.
pub fn set_parent_from<'a>(span: &tracing::Span, get: impl Fn(&str) -> Option<&'a str>) -> Option<TraceParent> {
    let context = TraceContextPropagator::new().extract(&Reader(get, PhantomData));
    let remote = context.span().span_context().clone();
    if !remote.is_valid() {
        return None;
    }
    // Fails only when no OpenTelemetry layer sees the span (export off).
    let _ = span.set_parent(context);
    Some(TraceParent {
        trace_id: remote.trace_id().to_string(),
        parent_span_id: remote.span_id().to_string(),
        sampled: remote.is_sampled(),
    })
}

/// Writes `span`'s trace context through `set` (`traceparent`, and
/// `tracestate` when there is one); writes nothing outside a trace.
pub fn inject_from(span: &tracing::Span, set: impl FnMut(&'static str, String)) {
    let context = span.context();
    if context.span().span_context().is_valid() {
        TraceContextPropagator::new().inject_context(&context, &mut Writer(set));
    }
}

/// [`set_parent_from`] over a map of headers (keys lower-case).
pub fn set_parent_from_map(span: &tracing::Span, headers: &HashMap<String, String>) -> Option<TraceParent> {
    set_parent_from(span, |key| headers.get(key).map(String::as_str))
}

/// [`inject_from`] into a map of headers.
pub fn inject_into_map(span: &tracing::Span, headers: &mut HashMap<String, String>) {
    inject_from(span, |key, value| {
        headers.insert(key.to_owned(), value);
    });
}

/// `span`'s trace id and span id as hex (for log lines), `None` outside a trace.
#[must_use]
pub fn span_ids(span: &tracing::Span) -> Option<(String, String)> {
    let context = span.context();
    let span_ref = context.span();
    let ids = span_ref.span_context();
    ids.is_valid()
        .then(|| (ids.trace_id().to_string(), ids.span_id().to_string()))
}

/// The platform's [`platform_ports::telemetry::TracePropagator`]: reads
/// the current span's context and parents spans on a carried `traceparent`,
/// through the OpenTelemetry layer. Installed when traces are exported.
#[derive(Clone, Copy, Debug, Default)]
pub struct W3cPropagator;

impl platform_ports::telemetry::TracePropagator for W3cPropagator {
    fn current(&self) -> Option<String> {
        let mut traceparent = None;
        inject_from(&tracing::Span::current(), |key, value| {
            if key == TRACEPARENT {
                traceparent = Some(value);
            }
        });
        traceparent
    }

    fn adopt(&self, span: &tracing::Span, traceparent: &str) {
        set_parent_from(span, |key| (key == TRACEPARENT).then_some(traceparent));
    }
}

/// Installs [`W3cPropagator`] for the whole process (the first install wins;
/// every install is the same propagator).
pub fn install() {
    platform_ports::telemetry::install(Box::new(W3cPropagator));
}
