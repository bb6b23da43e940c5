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
use std::ops::Range;

use platform_ports::model::Rfc3339Micros;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::logwriter::BatchWriter;

/// Visited fields rendered as `,"key":value` text in one string, with the
/// keys (and where each value sits) for de-duplication and for the rare span
/// field recorded again later. A span keeps one in its extensions; events
/// render into a per-thread one, with their `message` set apart (it comes
/// first in the line).
#[derive(Default)]
struct Fields {
    text: String,
    keys: Vec<(&'static str, Range<usize>)>,
    /// `Some` for events: where the `message` field goes.
    message: Option<String>,
}

impl Fields {
    /// Sized for a request span (ids, method, route), so rendering it does not regrow.
    fn for_span() -> Self {
        Self {
            text: String::with_capacity(256),
            keys: Vec::with_capacity(8),
            message: None,
        }
    }

    fn for_event() -> Self {
        Self {
            message: Some(String::new()),
            ..Self::default()
        }
    }

    fn clear(&mut self) {
        self.text.clear();
        self.keys.clear();
        if let Some(message) = &mut self.message {
            message.clear();
        }
    }

    /// Records a span's `values`: a field recorded again replaces its value,
    /// a new one is appended.
    fn record_span(&mut self, values: impl FnOnce(&mut dyn Visit)) {
        if self.keys.is_empty() {
            values(self);
            return;
        }
        let mut fresh = Self::default();
        values(&mut fresh);
        let mut merged = Self::default();
        for (key, range) in &self.keys {
            let value = match fresh.keys.iter().find(|(k, _)| k == key) {
                Some((_, fresh_range)) => &fresh.text[fresh_range.clone()],
                None => &self.text[range.clone()],
            };
            merged.push_rendered(key, value);
        }
        for (key, range) in &fresh.keys {
            if !self.has(key) {
                merged.push_rendered(key, &fresh.text[range.clone()]);
            }
        }
        *self = merged;
    }

    fn has(&self, key: &str) -> bool {
        self.keys.iter().any(|(k, _)| *k == key)
    }

    fn push_rendered(&mut self, key: &'static str, value: &str) {
        self.open(key).push_str(value);
        self.close(key);
    }

    /// Starts `key`'s value; returns where the value goes.
    fn open(&mut self, key: &'static str) -> &mut String {
        if key == "message"
            && let Some(message) = &mut self.message
        {
            return message;
        }
        // Field names are Rust identifiers (or `r#`-less literals): no escaping needed.
        self.text.push_str(",\"");
        self.text.push_str(key);
        self.text.push_str("\":");
        let start = self.text.len();
        self.keys.push((key, start..start));
        &mut self.text
    }

    fn close(&mut self, key: &'static str) {
        if key == "message" && self.message.is_some() {
            return;
        }
        let end = self.text.len();
        if let Some((_, range)) = self.keys.last_mut() {
            range.end = end;
        }
    }

    fn put_with(&mut self, field: &Field, write: impl FnOnce(&mut String)) {
        let key = field.name();
        write(self.open(key));
        self.close(key);
    }
}

/// Escapes what is written through it as the inside of a JSON string.
struct Escaped<'a>(&'a mut String);

impl fmt::Write for Escaped<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        // Most values (ids, routes, messages) need no escaping: copy them whole.
        if !text.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
            self.0.push_str(text);
            return Ok(());
        }
        for c in text.chars() {
            match c {
                '"' => self.0.push_str("\\\""),
                '\\' => self.0.push_str("\\\\"),
                '\n' => self.0.push_str("\\n"),
                '\r' => self.0.push_str("\\r"),
                '\t' => self.0.push_str("\\t"),
                c if (c as u32) < 0x20 => write!(self.0, "\\u{:04x}", c as u32)?,
                c => self.0.push(c),
            }
        }
        Ok(())
    }
}

fn escape_into(out: &mut String, text: &str) {
    out.push('"');
    let _ = Escaped(out).write_str(text);
    out.push('"');
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put_with(field, |out| escape_into(out, value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put_with(field, |out| out.push_str(itoa::Buffer::new().format(value)));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put_with(field, |out| out.push_str(itoa::Buffer::new().format(value)));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put_with(field, |out| out.push_str(if value { "true" } else { "false" }));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put_with(field, |out| {
            if value.is_finite() {
                let _ = write!(out, "{value}");
            } else {
                let _ = write!(out, "\"{value}\"");
            }
        });
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put_with(field, |out| {
            out.push('"');
            let _ = write!(Escaped(out), "{value:?}");
            out.push('"');
        });
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

/// Appends the current time as RFC 3339 UTC with six fractional digits.
fn push_timestamp(line: &mut String) {
    line.push_str(Rfc3339Micros::new(&chrono::Utc::now()).as_str());
}

thread_local! {
    /// Per-thread buffers reused by every line (the line, the event's fields),
    /// so a line allocates nothing.
    static SCRATCH: RefCell<(String, Fields)> = RefCell::new((String::new(), Fields::for_event()));
}

impl<S> Layer<S> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            let mut fields = Fields::for_span();
            fields.record_span(|visitor| attrs.record(visitor));
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            let mut extensions = span.extensions_mut();
            if let Some(fields) = extensions.get_mut::<Fields>() {
                fields.record_span(|visitor| values.record(visitor));
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        SCRATCH.with(|cell| {
            let Ok(mut guard) = cell.try_borrow_mut() else { return };
            let (line, fields) = &mut *guard;
            fields.clear();
            event.record(fields);

            let meta = event.metadata();
            line.clear();
            line.push_str("{\"timestamp\":\"");
            push_timestamp(line);
            line.push_str("\",\"level\":\"");
            line.push_str(meta.level().as_str());
            line.push_str("\",\"target\":");
            escape_into(line, meta.target());
            // The message first, then the event's own fields.
            if let Some(message) = fields.message.as_deref().filter(|m| !m.is_empty()) {
                line.push_str(",\"message\":");
                line.push_str(message);
            }
            line.push_str(&fields.text);
            // Then every enclosing span's fields, innermost first, each key once.
            if let Some(scope) = ctx.event_scope(event) {
                for span in scope {
                    let extensions = span.extensions();
                    let Some(span_fields) = extensions.get::<Fields>() else {
                        continue;
                    };
                    for (key, range) in &span_fields.keys {
                        if !fields.has(key) {
                            line.push_str(",\"");
                            line.push_str(key);
                            line.push_str("\":");
                            line.push_str(&span_fields.text[range.clone()]);
                            fields.keys.push((key, 0..0));
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

    #[test]
    fn a_field_recorded_again_replaces_its_value_and_new_ones_are_appended() {
        let sink = Sink::default();
        let (writer, guard) = batch_writer(Box::new(sink.clone())).unwrap();
        let subscriber = tracing_subscriber::registry().with(JsonLines::new(writer));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("s", a = 1u64, b = "x", c = tracing::field::Empty);
            span.record("b", "y");
            span.record("c", true);
            span.record("a", 2u64);
            let _entered = span.enter();
            tracing::warn!(path = "\\tmp\t", "{} and {}", "one", 2);
        });
        drop(guard);
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["message"], "one and 2");
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["path"], "\\tmp\t");
        assert_eq!(
            (line["a"].clone(), line["b"].clone(), line["c"].clone()),
            (2.into(), "y".into(), true.into())
        );
        assert_eq!(text.matches("\"b\"").count(), 1, "{text}");
        assert!(line["timestamp"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn timestamps_are_rfc3339_with_six_digits_and_track_the_clock() {
        let mut line = String::new();
        for _ in 0..3 {
            line.clear();
            push_timestamp(&mut line);
            assert_eq!(line.len(), 27, "{line}");
            let parsed: chrono::DateTime<chrono::Utc> = line.parse().unwrap();
            let off = (chrono::Utc::now() - parsed).num_milliseconds().abs();
            assert!(off < 1000, "{line} is {off} ms off");
            std::thread::sleep(std::time::Duration::from_millis(600));
        }
    }

    #[test]
    fn a_reused_span_buffer_carries_nothing_from_its_last_span() {
        let sink = Sink::default();
        let (writer, guard) = batch_writer(Box::new(sink.clone())).unwrap();
        let subscriber = tracing_subscriber::registry().with(JsonLines::new(writer));
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..3u64 {
                let span = if i % 2 == 0 {
                    tracing::info_span!("a", first = i, only_a = "x")
                } else {
                    tracing::info_span!("b", first = i)
                };
                let _entered = span.enter();
                tracing::info!("line");
            }
        });
        drop(guard);
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 3);
        for (i, line) in lines.iter().enumerate() {
            assert_eq!(line["first"], i as u64, "{text}");
            assert_eq!(line.get("only_a").is_some(), i % 2 == 0, "{text}");
        }
    }
}
