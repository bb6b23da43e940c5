//! The event on the wire: the envelope as JSON in the value, the aggregate
//! id as the key, and the id, type and trace context again in headers so
//! brokers' tools and consumers can route without parsing the value.

use platform_ports::events::Event;
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};

/// Header names.
pub(crate) mod header {
    /// The event's id.
    pub(crate) const EVENT_ID: &str = "event-id";
    /// The event's type.
    pub(crate) const EVENT_TYPE: &str = "event-type";
    /// The W3C trace context.
    pub(crate) const TRACEPARENT: &str = "traceparent";
    /// The value's media type.
    pub(crate) const CONTENT_TYPE: &str = "content-type";
    /// Why the event was dead-lettered (the handler's last error).
    pub(crate) const DLQ_ERROR: &str = "dlq-error";
    /// How many times the handler was tried.
    pub(crate) const DLQ_ATTEMPTS: &str = "dlq-attempts";
    /// The subscriber (consumer group) that gave up.
    pub(crate) const DLQ_SUBSCRIBER: &str = "dlq-subscriber";
    /// Where the event came from: topic, partition, offset.
    pub(crate) const DLQ_TOPIC: &str = "dlq-original-topic";
    /// The original partition.
    pub(crate) const DLQ_PARTITION: &str = "dlq-original-partition";
    /// The original offset.
    pub(crate) const DLQ_OFFSET: &str = "dlq-original-offset";
}

/// The message key: the aggregate id, so one aggregate's events land in one
/// partition and keep their order; lacking one, the event id (spread evenly).
pub(crate) fn key(event: &Event) -> String {
    match &event.aggregate_id {
        Some(aggregate) => aggregate.clone(),
        None => event.id.to_string(),
    }
}

/// The value (the JSON envelope) and headers of `event`; the `traceparent`
/// header is the current span's when traces are exported, else the event's.
///
/// # Errors
/// When the event's data cannot be serialised.
pub(crate) fn encode(event: &Event) -> Result<(Vec<u8>, OwnedHeaders), serde_json::Error> {
    let payload = serde_json::to_vec(event)?;
    let id = event.id.to_string();
    let mut headers = OwnedHeaders::new_with_capacity(4)
        .insert(Header {
            key: header::EVENT_ID,
            value: Some(&id),
        })
        .insert(Header {
            key: header::EVENT_TYPE,
            value: Some(&event.event_type),
        })
        .insert(Header {
            key: header::CONTENT_TYPE,
            value: Some("application/json"),
        });
    // Inside the publish span (traces exported) the header names that span,
    // so the consumer hangs under this publish; otherwise the event's own.
    let trace = platform_ports::telemetry::current_traceparent().or_else(|| event.trace_parent.clone());
    if let Some(trace) = &trace {
        headers = headers.insert(Header {
            key: header::TRACEPARENT,
            value: Some(trace),
        });
    }
    Ok((payload, headers))
}

/// The span of one publish: a producer span in the trace the event carries
/// (OpenTelemetry's messaging conventions), whose context the consumer's
/// span continues through the `traceparent` header.
pub(crate) fn publish_span(topic: &str, event: &Event) -> tracing::Span {
    let span = tracing::info_span!(
        "kafka.publish",
        otel.name = %format_args!("publish {topic}"),
        otel.kind = "producer",
        messaging.system = "kafka",
        messaging.operation.type = "send",
        messaging.operation.name = "publish",
        messaging.destination.name = %topic,
        messaging.message.id = %event.id,
        messaging.kafka.message.key = %key(event),
    );
    platform_ports::telemetry::follow(&span, event.trace_parent.as_deref());
    span
}

/// The event in a message's value.
///
/// # Errors
/// When the value is missing or is not an event envelope.
pub(crate) fn decode(payload: Option<&[u8]>) -> Result<Event, String> {
    let payload = payload.ok_or_else(|| "message has no value".to_owned())?;
    serde_json::from_slice(payload).map_err(|err| format!("message value is not an event envelope: {err}"))
}

/// The first value of header `key` of `message`, as text.
pub(crate) fn header_text<'m>(message: &'m impl Message, key: &str) -> Option<&'m str> {
    headers_text(message.headers()?, key)
}

/// The first value of header `key`, as text.
pub(crate) fn headers_text<'h, H: Headers>(headers: &'h H, key: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|h| h.key == key)
        .and_then(|h| h.value)
        .and_then(|v| std::str::from_utf8(v).ok())
}

/// Why and where from an event is dead-lettered.
pub(crate) struct DeadLetterInfo<'a> {
    pub(crate) error: &'a str,
    pub(crate) attempts: u32,
    pub(crate) subscriber: &'a str,
    pub(crate) topic: &'a str,
    pub(crate) partition: i32,
    pub(crate) offset: i64,
}

/// The original headers followed by the dead-letter ones.
pub(crate) fn dead_letter_headers(original: Option<&OwnedHeaders>, info: &DeadLetterInfo<'_>) -> OwnedHeaders {
    let mut headers = OwnedHeaders::new_with_capacity(original.map_or(0, Headers::count) + 6);
    if let Some(original) = original {
        for h in original.iter() {
            headers = headers.insert(Header {
                key: h.key,
                value: h.value,
            });
        }
    }
    let (attempts, partition, offset) = (
        info.attempts.to_string(),
        info.partition.to_string(),
        info.offset.to_string(),
    );
    let added: [(&str, &str); 6] = [
        (header::DLQ_ERROR, info.error),
        (header::DLQ_ATTEMPTS, &attempts),
        (header::DLQ_SUBSCRIBER, info.subscriber),
        (header::DLQ_TOPIC, info.topic),
        (header::DLQ_PARTITION, &partition),
        (header::DLQ_OFFSET, &offset),
    ];
    for (key, value) in added {
        headers = headers.insert(Header {
            key,
            value: Some(value),
        });
    }
    headers
}

#[cfg(test)]
mod tests {
    use platform_ports::events::Event;
    use platform_ports::model::TenantId;

    use super::*;

    fn event() -> Event {
        Event::new(
            "blog.post.published",
            "blog",
            TenantId::DEFAULT,
            serde_json::json!({"n": 1}),
        )
    }

    #[test]
    fn the_envelope_round_trips_and_its_id_type_and_trace_are_headers() {
        let event = event()
            .with_aggregate("post-7")
            .with_trace_parent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        let (payload, headers) = encode(&event).unwrap();
        assert_eq!(decode(Some(&payload)).unwrap(), event);
        assert_eq!(
            headers_text(&headers, header::EVENT_ID),
            Some(event.id.to_string().as_str())
        );
        assert_eq!(headers_text(&headers, header::EVENT_TYPE), Some("blog.post.published"));
        assert_eq!(
            headers_text(&headers, header::TRACEPARENT),
            event.trace_parent.as_deref()
        );
        assert_eq!(key(&event), "post-7");
        let json: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        for field in [
            "id",
            "type",
            "source",
            "timestamp",
            "tenant_id",
            "aggregate_id",
            "traceparent",
            "data",
        ] {
            assert!(json.get(field).is_some(), "{field} missing from {json}");
        }
    }

    #[test]
    fn without_aggregate_or_trace_the_key_is_the_id_and_no_trace_header_is_sent() {
        let event = event();
        let (_, headers) = encode(&event).unwrap();
        assert_eq!(key(&event), event.id.to_string());
        assert_eq!(headers_text(&headers, header::TRACEPARENT), None);
    }

    #[test]
    fn a_value_that_is_no_envelope_is_refused() {
        assert!(decode(None).is_err());
        assert!(decode(Some(b"{\"not\":\"an event\"}")).is_err());
    }

    #[test]
    fn dead_letter_headers_keep_the_original_ones() {
        let (_, original) = encode(&event()).unwrap();
        let info = DeadLetterInfo {
            error: "boom",
            attempts: 4,
            subscriber: "mailer",
            topic: "t",
            partition: 2,
            offset: 41,
        };
        let headers = dead_letter_headers(Some(&original), &info);
        assert!(headers_text(&headers, header::EVENT_ID).is_some());
        assert_eq!(headers_text(&headers, header::DLQ_ERROR), Some("boom"));
        assert_eq!(headers_text(&headers, header::DLQ_ATTEMPTS), Some("4"));
        assert_eq!(headers_text(&headers, header::DLQ_OFFSET), Some("41"));
    }
}
