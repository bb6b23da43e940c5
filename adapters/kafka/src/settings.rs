//! [`KafkaSettings`]: where the brokers are, how to authenticate, and how the
//! bus produces, consumes, retries and creates topics.

use std::path::PathBuf;
use std::time::Duration;

use platform_ports::model::SecretString;
use rdkafka::ClientConfig;

/// How the bus reaches Kafka and behaves on it.
#[derive(Clone, Debug)]
pub struct KafkaSettings {
    /// Bootstrap brokers, `host:port` separated by commas.
    pub brokers: String,
    /// `client.id` of every connection (shows in broker logs and quotas).
    pub client_id: String,
    /// Consumer groups are named `<prefix><subscriber>`, so several
    /// deployments can share a cluster.
    pub group_id_prefix: String,
    /// Put before every topic name on the broker (`<prefix><topic>`), so
    /// deployments (or test apps) sharing a cluster keep their events apart.
    pub topic_prefix: String,
    /// Transport security and authentication.
    pub security: KafkaSecurity,
    /// How long the producer waits to fill a batch (`linger.ms`).
    pub linger: Duration,
    /// Largest batch per partition in bytes (`batch.size`).
    pub batch_size: usize,
    /// How long a publish may take, retries included, before it fails
    /// (`message.timeout.ms`).
    pub publish_timeout: Duration,
    /// How long the group waits for a silent consumer before moving its
    /// partitions (`session.timeout.ms`).
    pub session_timeout: Duration,
    /// Create missing topics at start-up and on first use (`true`), or
    /// require them to exist (`false`).
    pub create_topics: bool,
    /// Partitions of a created topic.
    pub partitions: i32,
    /// Replication factor of a created topic.
    pub replication: i32,
    /// Topics created (or checked) at start-up, each with its `.dlq`.
    pub topics: Vec<String>,
    /// Handler retries before an event is dead-lettered.
    pub retry: RetrySettings,
    /// How long a metadata request (health check, topic check) waits for a broker.
    pub metadata_timeout: Duration,
    /// How often librdkafka reports statistics (consumer lag); zero turns
    /// them off.
    pub stats_interval: Duration,
    /// Events a partition may hold waiting for its handler before the
    /// partition is paused (back pressure).
    pub partition_queue: usize,
    /// How long stopping a subscription waits for handlers in progress.
    pub drain_timeout: Duration,
    /// Dead letters remembered for `dead_letters()`.
    pub dead_letter_capacity: usize,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:9092".to_owned(),
            client_id: "platform".to_owned(),
            group_id_prefix: "platform.".to_owned(),
            topic_prefix: String::new(),
            security: KafkaSecurity::default(),
            linger: Duration::from_millis(5),
            batch_size: 1_000_000,
            publish_timeout: Duration::from_secs(30),
            session_timeout: Duration::from_secs(10),
            create_topics: true,
            partitions: 6,
            replication: 1,
            topics: Vec::new(),
            retry: RetrySettings::default(),
            metadata_timeout: Duration::from_secs(2),
            stats_interval: Duration::from_secs(5),
            partition_queue: 1000,
            drain_timeout: Duration::from_secs(10),
            dead_letter_capacity: 1000,
        }
    }
}

/// A failing handler's retries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetrySettings {
    /// Retries after the first failure; then the event is dead-lettered.
    pub max_retries: u32,
    /// Wait before the first retry, doubled for each later one.
    pub initial_backoff: Duration,
    /// Longest wait between retries.
    pub max_backoff: Duration,
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self {
            max_retries: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
        }
    }
}

impl RetrySettings {
    /// The wait before retry number `retry` (1 for the first).
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.saturating_sub(1)).unwrap_or(u32::MAX);
        self.initial_backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// `security.protocol`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SecurityProtocol {
    /// No TLS, no authentication.
    #[default]
    Plaintext,
    /// TLS (needs the `tls` feature).
    Ssl,
    /// SASL over plain TCP.
    SaslPlaintext,
    /// SASL over TLS (needs the `tls` feature).
    SaslSsl,
}

impl SecurityProtocol {
    fn as_str(self) -> &'static str {
        match self {
            Self::Plaintext => "plaintext",
            Self::Ssl => "ssl",
            Self::SaslPlaintext => "sasl_plaintext",
            Self::SaslSsl => "sasl_ssl",
        }
    }

    fn uses_tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }

    fn uses_sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }
}

/// `sasl.mechanism` (those librdkafka has built in; GSSAPI would need Cyrus SASL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaslMechanism {
    /// User name and password in the clear (use over TLS).
    Plain,
    /// SCRAM-SHA-256 (needs the `tls` feature for its hashing).
    ScramSha256,
    /// SCRAM-SHA-512 (needs the `tls` feature for its hashing).
    ScramSha512,
}

impl SaslMechanism {
    fn as_str(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

/// SASL credentials.
#[derive(Clone, Debug)]
pub struct SaslSettings {
    /// The mechanism.
    pub mechanism: SaslMechanism,
    /// User name.
    pub username: String,
    /// Password (secret).
    pub password: SecretString,
}

/// TLS files; unset ones use the system's trust store and no client certificate.
#[derive(Clone, Debug, Default)]
pub struct TlsSettings {
    /// PEM file of the CAs that sign the brokers' certificates.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate (mutual TLS).
    pub cert_file: Option<PathBuf>,
    /// PEM private key of the client certificate.
    pub key_file: Option<PathBuf>,
    /// Password of the private key (secret).
    pub key_password: Option<SecretString>,
}

/// Transport security and authentication.
#[derive(Clone, Debug, Default)]
pub struct KafkaSecurity {
    /// The protocol.
    pub protocol: SecurityProtocol,
    /// Credentials, for the SASL protocols.
    pub sasl: Option<SaslSettings>,
    /// Certificates, for the TLS protocols.
    pub tls: TlsSettings,
}

/// A setting the bus cannot work with, naming its key.
#[derive(Debug, thiserror::Error)]
pub enum KafkaSettingsError {
    /// The value is out of range or malformed.
    #[error("kafka.{key}: {reason}")]
    Invalid {
        /// The key under `kafka.`.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
}

fn invalid(key: &'static str, reason: impl Into<String>) -> KafkaSettingsError {
    KafkaSettingsError::Invalid {
        key,
        reason: reason.into(),
    }
}

fn millis(key: &'static str, value: Duration, min: u128) -> Result<String, KafkaSettingsError> {
    let ms = value.as_millis();
    if ms < min || ms > u128::from(i32::MAX.unsigned_abs()) {
        return Err(invalid(key, format!("{value:?} is out of range")));
    }
    Ok(ms.to_string())
}

impl KafkaSettings {
    /// Checks every value, naming the first bad key.
    ///
    /// # Errors
    /// [`KafkaSettingsError::Invalid`].
    pub fn validate(&self) -> Result<(), KafkaSettingsError> {
        if self.brokers.split(',').any(|b| b.trim().is_empty()) {
            return Err(invalid("brokers", "needs host:port entries separated by commas"));
        }
        if self.client_id.trim().is_empty() {
            return Err(invalid("client_id", "must not be empty"));
        }
        if self.partitions < 1 {
            return Err(invalid("partitions", "must be at least 1"));
        }
        if self.replication < 1 {
            return Err(invalid("replication", "must be at least 1"));
        }
        if self.batch_size == 0 || self.batch_size > 2_147_483_647 {
            return Err(invalid("batch_size", "must be between 1 and 2147483647 bytes"));
        }
        if self.partition_queue == 0 {
            return Err(invalid("partition_queue", "must be at least 1"));
        }
        if !self.topic_prefix.is_empty() && crate::topics::validate(&self.topic_prefix).is_err() {
            return Err(invalid("topic_prefix", "must be valid at the start of a topic name"));
        }
        if let Some(bad) = self.topics.iter().find(|t| crate::topics::validate(t).is_err()) {
            return Err(invalid("topics", format!("`{bad}` is not a valid topic name")));
        }
        millis("linger", self.linger, 0)?;
        millis("metadata_timeout", self.metadata_timeout, 1)?;
        millis("publish_timeout", self.publish_timeout, 1)?;
        millis("session_timeout", self.session_timeout, 1)?;
        millis("stats_interval", self.stats_interval, 0)?;
        self.validate_security()
    }

    fn validate_security(&self) -> Result<(), KafkaSettingsError> {
        let protocol = self.security.protocol;
        if protocol.uses_tls() && !cfg!(feature = "tls") {
            return Err(invalid(
                "security.protocol",
                "TLS needs platform-adapter-kafka built with its `tls` feature",
            ));
        }
        match (&self.security.sasl, protocol.uses_sasl()) {
            (None, true) => return Err(invalid("security.sasl", "the SASL protocols need credentials")),
            (Some(_), false) => {
                return Err(invalid(
                    "security.sasl",
                    "credentials are set but security.protocol is not sasl_plaintext or sasl_ssl",
                ));
            }
            (Some(sasl), true) => {
                if sasl.username.is_empty() {
                    return Err(invalid("security.sasl.username", "must not be empty"));
                }
                if sasl.mechanism != SaslMechanism::Plain && !cfg!(feature = "tls") {
                    return Err(invalid(
                        "security.sasl.mechanism",
                        "SCRAM needs platform-adapter-kafka built with its `tls` feature",
                    ));
                }
            }
            (None, false) => {}
        }
        Ok(())
    }

    /// The settings every client (producer, consumer, admin) shares.
    pub(crate) fn base_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("client.id", &self.client_id)
            .set("security.protocol", self.security.protocol.as_str());
        if let Some(sasl) = &self.security.sasl {
            config
                .set("sasl.mechanism", sasl.mechanism.as_str())
                .set("sasl.username", &sasl.username)
                .set("sasl.password", sasl.password.expose());
        }
        let tls = &self.security.tls;
        let files = [
            ("ssl.ca.location", &tls.ca_file),
            ("ssl.certificate.location", &tls.cert_file),
            ("ssl.key.location", &tls.key_file),
        ];
        for (key, file) in files {
            if let Some(file) = file {
                config.set(key, file.to_string_lossy());
            }
        }
        if let Some(password) = &tls.key_password {
            config.set("ssl.key.password", password.expose());
        }
        config
    }

    /// The idempotent producer: `acks=all`, retries that keep each
    /// partition's order, and batching from the settings.
    pub(crate) fn producer_config(&self) -> ClientConfig {
        let mut config = self.base_config();
        config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", self.linger.as_millis().to_string())
            .set("batch.size", self.batch_size.to_string())
            .set("message.timeout.ms", self.publish_timeout.as_millis().to_string());
        config
    }

    /// A consumer of group `<prefix><subscriber>`: offsets are stored by the
    /// bus once a handler succeeded, and committed from the store.
    pub(crate) fn consumer_config(&self, subscriber: &str) -> ClientConfig {
        let mut config = self.base_config();
        config
            .set("group.id", self.group_id(subscriber))
            .set("enable.auto.commit", "true")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", self.session_timeout.as_millis().to_string())
            // Heartbeats must come well within the session timeout.
            .set(
                "heartbeat.interval.ms",
                (self.session_timeout.as_millis() / 3).max(1).to_string(),
            )
            .set("statistics.interval.ms", self.stats_interval.as_millis().to_string());
        config
    }

    /// The name on the broker of the bus's `topic`.
    #[must_use]
    pub fn broker_topic(&self, topic: &str) -> String {
        format!("{}{topic}", self.topic_prefix)
    }

    /// The consumer group of `subscriber`.
    #[must_use]
    pub fn group_id(&self, subscriber: &str) -> String {
        format!("{}{subscriber}", self.group_id_prefix)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use platform_ports::model::SecretString;

    use super::*;

    fn key_of(settings: &KafkaSettings) -> &'static str {
        match settings.validate() {
            Err(KafkaSettingsError::Invalid { key, .. }) => key,
            Ok(()) => "ok",
        }
    }

    #[test]
    fn the_defaults_are_valid() {
        assert_eq!(key_of(&KafkaSettings::default()), "ok");
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let base = KafkaSettings::default;
        let cases: Vec<(KafkaSettings, &str)> = vec![
            (
                KafkaSettings {
                    brokers: "a:1,,b:2".into(),
                    ..base()
                },
                "brokers",
            ),
            (
                KafkaSettings {
                    partitions: 0,
                    ..base()
                },
                "partitions",
            ),
            (
                KafkaSettings {
                    replication: 0,
                    ..base()
                },
                "replication",
            ),
            (
                KafkaSettings {
                    batch_size: 0,
                    ..base()
                },
                "batch_size",
            ),
            (
                KafkaSettings {
                    topics: vec!["no spaces".into()],
                    ..base()
                },
                "topics",
            ),
            (
                KafkaSettings {
                    session_timeout: Duration::ZERO,
                    ..base()
                },
                "session_timeout",
            ),
            (
                KafkaSettings {
                    security: KafkaSecurity {
                        protocol: SecurityProtocol::SaslPlaintext,
                        ..KafkaSecurity::default()
                    },
                    ..base()
                },
                "security.sasl",
            ),
        ];
        for (settings, key) in cases {
            assert_eq!(key_of(&settings), key);
        }
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let settings = KafkaSettings {
            security: KafkaSecurity {
                protocol: SecurityProtocol::SaslPlaintext,
                sasl: Some(SaslSettings {
                    mechanism: SaslMechanism::Plain,
                    username: "svc".into(),
                    password: SecretString::new("hunter2"),
                }),
                tls: TlsSettings::default(),
            },
            ..KafkaSettings::default()
        };
        assert_eq!(key_of(&settings), "ok");
        assert!(!format!("{settings:?}").contains("hunter2"));
        let config = settings.consumer_config("mailer");
        assert_eq!(config.get("group.id"), Some("platform.mailer"));
        assert_eq!(config.get("sasl.password"), Some("hunter2"));
        assert_eq!(config.get("enable.auto.offset.store"), Some("false"));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let ms = Duration::from_millis;
        let retry = RetrySettings {
            max_retries: 9,
            initial_backoff: ms(100),
            max_backoff: ms(500),
        };
        let waits: Vec<_> = (1..=5).map(|n| retry.backoff(n)).collect();
        assert_eq!(waits, [ms(100), ms(200), ms(400), ms(500), ms(500)]);
        assert_eq!(retry.backoff(400), ms(500));
    }
}
