//! The event bus on Kafka (rdkafka, with the librdkafka it bundles and
//! builds; its C build lives only in this crate).
//!
//! **Publishing.** An idempotent producer with `acks=all`: `publish`
//! returns once every in-sync replica has the event, so the outbox relay
//! marks a row sent only after that. The key is the aggregate id (one
//! aggregate, one partition, one order); the value is the event envelope as
//! JSON (id, type, source, tenant, timestamp, aggregate, `traceparent`,
//! data), and the id, type and W3C `traceparent` are also headers.
//!
//! **Subscribing.** A consumer group per subscriber name
//! (`<group_id_prefix><subscriber>`). Partitions are handled concurrently,
//! each partition's messages one at a time in order. An offset is stored
//! only after the handler succeeded and committed from there (in the
//! background and on stop): delivery is at least once, so handlers
//! deduplicate by event id (`ProcessedEvents`). A failing handler is retried
//! with exponential backoff; after the last retry the message goes to
//! `<topic>.dlq` with `dlq-error` and `dlq-attempts` headers, and the
//! partition moves on. `dead_letters()` answers from this instance's own.
//!
//! **Topics** are created at start-up and on first use when missing
//! (partitions and replication from the settings), or required to exist
//! (`create_topics: false`).
//!
//! **TLS** (`ssl`, `sasl_ssl`) and SASL SCRAM come with the opt-in `tls`
//! feature: OpenSSL built from source by rdkafka (`ssl-vendored`), so no
//! system OpenSSL is needed. SASL PLAIN works with or without it; GSSAPI
//! (Kerberos) is not built.

mod bus;
mod consumer;
mod context;
mod dead_letters;
mod envelope;
mod error;
mod health;
mod metrics;
mod settings;
mod topics;

pub use bus::KafkaEventBus;
pub use error::KafkaBusError;
pub use health::KafkaHealthChecker;
pub use settings::{
    KafkaSecurity, KafkaSettings, KafkaSettingsError, RetrySettings, SaslMechanism, SaslSettings, SecurityProtocol,
    TlsSettings,
};
