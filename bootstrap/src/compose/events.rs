//! The event bus (`event_bus.driver`, `kafka.*`).

use std::sync::Arc;

use platform_adapter_kafka::{
    KafkaEventBus, KafkaSecurity, KafkaSettings, RetrySettings, SaslMechanism, SaslSettings, SecurityProtocol,
    TlsSettings,
};
use platform_adapter_memory::{InProcessBusSettings, InProcessEventBus};
use platform_ports::events::EventBus;
use platform_ports::metrics::Metrics;

use super::{Built, Parts, serve};
use crate::config::{EventBusDriver, Settings};

/// The event bus port.
pub type EventPorts = Box<dyn EventBus>;

/// Builds the configured bus; delivery (and on Kafka, the consumers) runs as
/// a background service.
///
/// # Errors
/// When a setting is refused (naming its key).
pub fn build(settings: &Settings, metrics: &Arc<dyn Metrics>) -> anyhow::Result<Built<EventPorts>> {
    let mut parts = Parts::default();
    let e = &settings.event_bus;
    let ports = match e.driver {
        EventBusDriver::Inprocess => {
            let bus = InProcessEventBus::new(InProcessBusSettings {
                queue_capacity: e.queue_capacity,
                max_retries: e.max_retries,
                initial_backoff: e.initial_backoff,
                max_backoff: e.max_backoff,
                drain_timeout: settings.server.shutdown_timeout,
                ..InProcessBusSettings::default()
            });
            parts.service(Arc::new(bus.clone()));
            serve!(parts, EventBus, bus)
        }
        EventBusDriver::Kafka => {
            let bus = KafkaEventBus::connect(kafka_settings(settings)?, Some(&**metrics))?;
            parts.check("kafka", Arc::new(bus.health_checker()));
            parts.service(Arc::new(bus.clone()));
            serve!(parts, EventBus, bus)
        }
    };
    Ok(Built { ports, parts })
}

/// `kafka.*` and the retry rules of `event_bus.*`, with the topics every
/// feature module publishes to or listens on.
fn kafka_settings(settings: &Settings) -> anyhow::Result<KafkaSettings> {
    let k = &settings.kafka;
    let e = &settings.event_bus;
    let protocol = match k.security.protocol.as_str() {
        "plaintext" => SecurityProtocol::Plaintext,
        "ssl" => SecurityProtocol::Ssl,
        "sasl_plaintext" => SecurityProtocol::SaslPlaintext,
        "sasl_ssl" => SecurityProtocol::SaslSsl,
        other => anyhow::bail!("kafka.security.protocol: `{other}` is not plaintext, ssl, sasl_plaintext or sasl_ssl"),
    };
    let sasl = if matches!(protocol, SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl) {
        let mechanism = match k.security.sasl_mechanism.as_str() {
            "PLAIN" => SaslMechanism::Plain,
            "SCRAM-SHA-256" => SaslMechanism::ScramSha256,
            "SCRAM-SHA-512" => SaslMechanism::ScramSha512,
            other => {
                anyhow::bail!("kafka.security.sasl_mechanism: `{other}` is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
            }
        };
        Some(SaslSettings {
            mechanism,
            username: k.security.sasl_username.clone(),
            password: k.security.sasl_password.clone(),
        })
    } else {
        None
    };
    let registry = crate::features::registry()?;
    let mut topics: Vec<String> = registry
        .modules()
        .iter()
        .flat_map(|m| m.topic.into_iter().chain(m.handles.iter().map(|h| h.topic)))
        .map(str::to_owned)
        .collect();
    topics.sort();
    topics.dedup();
    let out = KafkaSettings {
        brokers: k.brokers.clone(),
        client_id: k.client_id.clone(),
        group_id_prefix: k.group_id_prefix.clone(),
        topic_prefix: k.topic_prefix.clone(),
        security: KafkaSecurity {
            protocol,
            sasl,
            tls: TlsSettings {
                ca_file: (!k.security.ca_file.is_empty()).then(|| k.security.ca_file.clone().into()),
                ..TlsSettings::default()
            },
        },
        linger: k.linger,
        batch_size: k.batch_size,
        publish_timeout: k.publish_timeout,
        session_timeout: k.session_timeout,
        create_topics: k.create_topics,
        partitions: k.partitions,
        replication: k.replication,
        topics,
        retry: RetrySettings {
            max_retries: e.max_retries,
            initial_backoff: e.initial_backoff,
            max_backoff: e.max_backoff,
        },
        metadata_timeout: k.metadata_timeout,
        drain_timeout: settings.server.shutdown_timeout,
        ..KafkaSettings::default()
    };
    out.validate()?;
    Ok(out)
}
