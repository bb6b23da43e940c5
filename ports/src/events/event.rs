use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{EventId, OutboxId, TenantId};

/// A domain event (the seed's `Event`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Unique id; consumers deduplicate on it.
    pub id: EventId,
    /// Event type, e.g. `platform.user.created`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The module that emitted it.
    pub source: String,
    /// When it happened.
    pub timestamp: DateTime<Utc>,
    /// Tenant it happened in.
    pub tenant_id: TenantId,
    /// The entity it is about; ordering is kept per aggregate (the Kafka
    /// message key, so one aggregate's events share a partition).
    pub aggregate_id: Option<String>,
    /// The W3C `traceparent` of the work that emitted it, when known; a
    /// bus carries it to consumers (on Kafka also as a header).
    #[serde(default, rename = "traceparent", skip_serializing_if = "Option::is_none")]
    pub trace_parent: Option<String>,
    /// Payload.
    pub data: serde_json::Value,
}

impl Event {
    /// A new event with a fresh id, stamped now, carrying the trace context
    /// of the span it is built in.
    pub fn new(
        event_type: impl Into<String>,
        source: impl Into<String>,
        tenant_id: TenantId,
        data: serde_json::Value,
    ) -> Self {
        Self {
            id: EventId::new(),
            event_type: event_type.into(),
            source: source.into(),
            timestamp: Utc::now(),
            tenant_id,
            aggregate_id: None,
            trace_parent: crate::telemetry::current_traceparent(),
            data,
        }
    }

    /// Sets the aggregate the event is about.
    #[must_use]
    pub fn with_aggregate(mut self, aggregate_id: impl Into<String>) -> Self {
        self.aggregate_id = Some(aggregate_id.into());
        self
    }

    /// Sets the W3C `traceparent` (`00-<trace id>-<parent id>-<flags>`).
    #[must_use]
    pub fn with_trace_parent(mut self, trace_parent: impl Into<String>) -> Self {
        self.trace_parent = Some(trace_parent.into());
        self
    }
}

/// An event waiting in the outbox for the relay.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxMessage {
    /// Identity (commit order).
    pub id: OutboxId,
    /// Topic to publish to.
    pub topic: String,
    /// The event.
    pub event: Event,
    /// Delivery attempts so far.
    pub attempts: u32,
}

/// An event a subscriber could not handle after every retry.
#[derive(Clone, Debug, PartialEq)]
pub struct DeadLetter {
    /// Topic it was published on.
    pub topic: String,
    /// The subscriber that failed.
    pub subscriber: String,
    /// The event.
    pub event: Event,
    /// How many times delivery was tried.
    pub attempts: u32,
    /// The last error.
    pub last_error: String,
    /// When it was given up.
    pub failed_at: DateTime<Utc>,
}
