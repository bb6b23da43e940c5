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

use platform_ports::model::Rfc3339Micros;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::logwriter::BatchWriter;

/// A span's fields, rendered once as the `,"key":value` text copied into
/// each line, with the keys (and where each value sits) for de-duplication
/// and for the rare field recorded again later.
#[derive(Default)]
struct SpanFields {
    text: String,
    keys: Vec<(&'static str, std::ops::Range<usize>)>,
}

impl SpanFields {
    /// Sized for a request span (ids, method, route), so rendering it does not regrow.
    fn sized() -> Self {
        Self {
            text: String::with_capacity(256),
            keys: Vec::with_capacity(8),
        }
    }

    fn record(&mut self, values: impl FnOnce(&mut dyn Visit)) {
        if self.keys.is_empty() {
            // A new span: render into its own (pooled, see `on_close`) buffers.
            self.text.clear();
            let mut fresh = Fields {
                text: std::mem::take(&mut self.text),
                keys: std::mem::take(&mut self.keys),
                ..Fields::default()
            };
            values(&mut fresh);
            self.text = fresh.text;
            self.keys = fresh.keys;
            return;
        }
        let mut fresh = Fields::default();
        values(&mut fresh);
        // Merge: a field recorded again replaces its value, a new one is appended.
        let mut merged = Fields::default();
        for (key, range) in &self.keys {
            let value = match fresh.keys.iter().find(|(k, _)| k == key) {
                Some((_, fresh_range)) => &fresh.text[fresh_range.clone()],
                None => &self.text[range.clone()],
            };
            merged.push_rendered(key, value);
        }
        for (key, range) in &fresh.keys {
            if !self.keys.iter().any(|(k, _)| k == key) {
                merged.push_rendered(key, &fresh.text[range.clone()]);
            }
        }
        self.text = merged.text;
        self.keys = merged.keys;
    }
}

/// Renders visited fields as `,"key":value` into one string, remembering
/// where each value sits. An event's `message` goes to `message` instead.
#[derive(Default)]
struct Fields {
    text: String,
    keys: Vec<(&'static str, std::ops::Range<usize>)>,
    message: Option<String>,
    /// Events render their message apart (it comes first in the line).
    split_message: bool,
}

impl Fields {
    fn for_event(text: String, mut keys: Vec<(&'static str, std::ops::Range<usize>)>) -> Self {
        keys.clear();
        Self {
            text,
            keys,
            message: None,
            split_message: true,
        }
    }

    fn push_rendered(&mut self, key: &'static str, value: &str) {
        self.open(key);
        self.text.push_str(value);
        self.close(key);
    }

    /// Starts `key`'s value; returns where the value goes.
    fn open(&mut self, key: &'static str) -> &mut String {
        if self.split_message && key == "message" {
            return self.message.get_or_insert_with(String::new);
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
        if self.split_message && key == "message" {
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

/// Per-thread buffers reused by every line, so a line allocates nothing.
#[derive(Default)]
struct Scratch {
    line: String,
    fields: Fields,
    message: String,
    /// The Unix second `date_time` renders (`YYYY-MM-DDTHH:MM:SS`): lines
    /// within one second differ only in their microseconds, so the calendar
    /// arithmetic runs once a second per thread instead of once a line.
    second: Option<u64>,
    date_time: String,
}

impl Scratch {
    /// Appends the current time as RFC 3339 UTC with six fractional digits.
    fn push_timestamp(&mut self) {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let second = since_epoch.as_secs();
        if self.second != Some(second) {
            let at = i64::try_from(second)
                .ok()
                .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
                .unwrap_or_default();
            let full = Rfc3339Micros::new(&at);
            // `YYYY-MM-DDTHH:MM:SS.000000Z` minus the fraction; a year beyond
            // 9999 renders longer and is simply not cached.
            let text = full.as_str();
            self.date_time.clear();
            self.date_time.push_str(text.get(..19).unwrap_or(text));
            self.second = (text.len() == 27).then_some(second);
        }
        self.line.push_str(&self.date_time);
        let mut micros = itoa::Buffer::new();
        let micros = micros.format(since_epoch.subsec_micros());
        self.line.push('.');
        for _ in micros.len()..6 {
            self.line.push('0');
        }
        self.line.push_str(micros);
        self.line.push('Z');
    }
}

/// Span buffers kept per thread for reuse; enough for the spans one worker
/// has open at a time, and never a buffer grown by an unusually large span.
const MAX_SPARE: usize = 64;
const MAX_SPARE_TEXT: usize = 4096;

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
    static SPARE: RefCell<Vec<SpanFields>> = const { RefCell::new(Vec::new()) };
}

impl<S> Layer<S> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            let mut fields = SPARE
                .with(|spare| spare.borrow_mut().pop())
                .unwrap_or_else(SpanFields::sized);
            fields.record(|visitor| attrs.record(visitor));
            span.extensions_mut().insert(fields);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        // Keep the closing span's buffers for the next span this thread opens:
        // a request span costs no allocation for its fields once warm.
        if let Some(span) = ctx.span(&id)
            && let Some(mut fields) = span.extensions_mut().remove::<SpanFields>()
        {
            fields.keys.clear();
            SPARE.with(|spare| {
                let mut spare = spare.borrow_mut();
                if spare.len() < MAX_SPARE && fields.text.capacity() <= MAX_SPARE_TEXT {
                    spare.push(fields);
                }
            });
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            let mut extensions = span.extensions_mut();
            if let Some(fields) = extensions.get_mut::<SpanFields>() {
                fields.record(|visitor| values.record(visitor));
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        SCRATCH.with(|cell| {
            let Ok(mut guard) = cell.try_borrow_mut() else { return };
            let scratch = &mut *guard;
            let mut fields = Fields::for_event(
                std::mem::take(&mut scratch.fields.text),
                std::mem::take(&mut scratch.fields.keys),
            );
            fields.text.clear();
            scratch.message.clear();
            fields.message = Some(std::mem::take(&mut scratch.message));
            event.record(&mut fields);

            scratch.line.clear();
            scratch.line.push_str("{\"timestamp\":\"");
            scratch.push_timestamp();
            let line = &mut scratch.line;
            let meta = event.metadata();
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
                    let Some(span_fields) = extensions.get::<SpanFields>() else {
                        continue;
                    };
                    let clash = span_fields
                        .keys
                        .iter()
                        .any(|(key, _)| fields.keys.iter().any(|(k, _)| k == key));
                    if !clash {
                        line.push_str(&span_fields.text);
                        fields.keys.extend(span_fields.keys.iter().map(|(key, _)| (*key, 0..0)));
                        continue;
                    }
                    for (key, range) in &span_fields.keys {
                        if !fields.keys.iter().any(|(k, _)| k == key) {
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
            scratch.message = fields.message.take().unwrap_or_default();
            scratch.fields.text = fields.text;
            scratch.fields.keys = fields.keys;
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
        let mut scratch = Scratch::default();
        for _ in 0..3 {
            scratch.line.clear();
            scratch.push_timestamp();
            assert_eq!(scratch.line.len(), 27, "{}", scratch.line);
            let parsed: chrono::DateTime<chrono::Utc> = scratch.line.parse().unwrap();
            let off = (chrono::Utc::now() - parsed).num_milliseconds().abs();
            assert!(off < 1000, "{} is {off} ms off", scratch.line);
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
