//! JSON log lines, flattened: `{"timestamp","level","target","message",
//! event fields…, fields of every enclosing span…}`.
//!
//! Written by hand instead of with tracing-subscriber's JSON formatter, which
//! stores each span's fields as JSON text and parses it again for every
//! line: on a request that logs one access line, that re-parsing was a
//! sizeable share of the platform's per-request cost. Here span fields are
//! rendered once, when recorded, and copied into each line. A key already
//! written by the event or an inner span is not repeated.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::io::Write as _;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::logwriter::BatchWriter;

/// A span's fields, each value already rendered as JSON.
#[derive(Default)]
struct SpanFields(Vec<(&'static str, String)>);

/// Renders visited fields as `(name, json value)` pairs.
struct Render<'a>(&'a mut Vec<(&'static str, String)>);

impl Render<'_> {
    fn put(&mut self, field: &Field, value: String) {
        match self.0.iter_mut().find(|(k, _)| *k == field.name()) {
            Some(slot) => slot.1 = value,
            None => self.0.push((field.name(), value)),
        }
    }
}

fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    escape_into(&mut out, text);
    out
}

fn escape_into(out: &mut String, text: &str) {
    out.push('"');
    // Most values (ids, routes, messages) need no escaping: copy them whole.
    if !text.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.push_str(text);
        out.push('"');
        return;
    }
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl Visit for Render<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, quoted(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.to_string());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.to_string());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.to_string());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(
            field,
            if value.is_finite() {
                value.to_string()
            } else {
                quoted(&value.to_string())
            },
        );
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, quoted(&format!("{value:?}")));
    }
}

/// The layer writing one JSON line per event.
pub(crate) struct JsonLines {
    writer: BatchWriter,
}

impl JsonLines {
    /// Lines go to `writer`.
    pub(crate) fn new(writer: BatchWriter) -> Self {
        Self { writer }
    }
}

thread_local! {
    static LINE: RefCell<(String, Vec<(&'static str, String)>)> = RefCell::new((String::with_capacity(512), Vec::new()));
}

impl<S> Layer<S> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            let mut fields = SpanFields::default();
            attrs.record(&mut Render(&mut fields.0));
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            let mut extensions = span.extensions_mut();
            if let Some(fields) = extensions.get_mut::<SpanFields>() {
                values.record(&mut Render(&mut fields.0));
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        LINE.with(|cell| {
            let Ok(mut guard) = cell.try_borrow_mut() else { return };
            let (line, fields) = &mut *guard;
            line.clear();
            fields.clear();
            event.record(&mut Render(fields));
            let meta = event.metadata();
            let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            let _ = write!(
                line,
                "{{\"timestamp\":\"{now}\",\"level\":\"{}\",\"target\":",
                meta.level()
            );
            escape_into(line, meta.target());
            // The message first, then the event's own fields.
            if let Some(i) = fields.iter().position(|(k, _)| *k == "message") {
                let (_, message) = fields.remove(i);
                line.push_str(",\"message\":");
                line.push_str(&message);
            }
            let mut written: Vec<&'static str> = fields.iter().map(|(k, _)| *k).collect();
            for (key, value) in fields.iter() {
                let _ = write!(line, ",\"{key}\":{value}");
            }
            // Then every enclosing span's fields, innermost first.
            if let Some(scope) = ctx.event_scope(event) {
                for span in scope {
                    let extensions = span.extensions();
                    if let Some(span_fields) = extensions.get::<SpanFields>() {
                        for (key, value) in &span_fields.0 {
                            if !written.contains(key) {
                                let _ = write!(line, ",\"{key}\":{value}");
                                written.push(key);
                            }
                        }
                    }
                }
            }
            line.push_str("}\n");
            let _ = self.writer.make_writer().write_all(line.as_bytes());
        });
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;
    use crate::logwriter::batch_writer;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_are_json_with_event_and_span_fields_flattened_once() {
        let sink = Sink::default();
        let (writer, guard) = batch_writer(Box::new(sink.clone())).unwrap();
        let subscriber = tracing_subscriber::registry().with(JsonLines::new(writer));
        tracing::subscriber::with_default(subscriber, || {
            let request = tracing::info_span!("request", request_id = "r-1", user_id = tracing::field::Empty);
            request.record("user_id", "u-9");
            let _outer = request.enter();
            let use_case = tracing::info_span!("use_case", request_id = "r-1", module = "blog");
            let _inner = use_case.enter();
            tracing::info!(status = 200u64, ok = true, quote = "a \"b\"\n", "request done");
        });
        drop(guard);
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["message"], "request done");
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["status"], 200);
        assert_eq!(line["ok"], true);
        assert_eq!(line["quote"], "a \"b\"\n");
        assert_eq!(line["request_id"], "r-1");
        assert_eq!(line["user_id"], "u-9");
        assert_eq!(line["module"], "blog");
        assert_eq!(
            text.matches("\"request_id\"").count(),
            1,
            "keys are not repeated: {text}"
        );
    }
}
