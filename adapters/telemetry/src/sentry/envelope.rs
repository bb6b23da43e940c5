//! One error report as a Sentry envelope: a header line, an item header
//! line and the event, each JSON, every text scrubbed.

use chrono::{SecondsFormat, Utc};
use platform_ports::error_bus::ErrorReport;
use serde_json::{Map, Value, json};

use super::scrub::scrub;

/// What every event carries besides the report.
#[derive(Clone, Debug, Default)]
pub(crate) struct EventDefaults {
    pub(crate) environment: Option<String>,
    pub(crate) release: Option<String>,
    pub(crate) server_name: Option<String>,
}

/// The envelope body for `report`.
pub(crate) fn envelope(report: &ErrorReport, defaults: &EventDefaults) -> Vec<u8> {
    let event_id = uuid::Uuid::new_v4().simple().to_string();
    let event = event(&event_id, report, defaults).to_string();
    let header = json!({ "event_id": event_id, "sent_at": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true) });
    let item = json!({ "type": "event", "content_type": "application/json", "length": event.len() });
    let mut body = Vec::with_capacity(event.len() + 200);
    for line in [header.to_string(), item.to_string(), event] {
        body.extend_from_slice(line.as_bytes());
        body.push(b'\n');
    }
    body
}

fn event(event_id: &str, report: &ErrorReport, defaults: &EventDefaults) -> Value {
    let ctx = &report.context;
    let message = scrub(&report.message).into_owned();
    // Sentry lists exceptions innermost first; the report's chain is outermost first.
    let mut exceptions: Vec<Value> = report
        .chain
        .iter()
        .rev()
        .map(|cause| json!({ "type": "Caused by", "value": scrub(cause) }))
        .collect();
    exceptions.push(json!({ "type": ctx.module.as_deref().unwrap_or("error"), "value": message }));

    let mut tags = Map::new();
    let mut tag = |key: &str, value: Option<String>| {
        if let Some(value) = value {
            tags.insert(key.to_owned(), Value::String(value));
        }
    };
    tag("request_id", ctx.request_id.as_deref().map(str::to_owned));
    tag("trace_id", ctx.trace_id.as_deref().map(str::to_owned));
    tag("tenant_id", ctx.tenant_id.map(|t| t.to_string()));
    tag("module", ctx.module.as_deref().map(str::to_owned));

    let mut event = json!({
        "event_id": event_id,
        "timestamp": report.occurred_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "platform": "other",
        "level": "error",
        "logger": ctx.module.as_deref().unwrap_or("platform"),
        "logentry": { "formatted": message },
        "exception": { "values": exceptions },
        "tags": tags,
    });
    let fields = [
        ("environment", defaults.environment.clone()),
        ("release", defaults.release.clone()),
        ("server_name", defaults.server_name.clone()),
    ];
    for (key, value) in fields {
        if let Some(value) = value {
            event[key] = Value::String(value);
        }
    }
    if let Some(user) = ctx.user_id {
        event["user"] = json!({ "id": user.to_string() });
    }
    // Sentry links the event to the trace only through a trace context,
    // which must name a span; the report has none, so derive a stable one.
    if let Some(trace_id) = ctx.trace_id.as_deref().filter(|t| t.len() == 32) {
        event["contexts"] = json!({ "trace": { "trace_id": trace_id, "span_id": &event_id[..16] } });
    }
    event
}
