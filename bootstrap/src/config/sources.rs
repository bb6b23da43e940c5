//! `secrets.*`, `telemetry.*` and `error_bus.sentry.*`: where secrets come
//! from, where traces go, where errors are reported.

use std::time::Duration;

use platform_ports::model::SecretString;
use serde::{Deserialize, Deserializer, Serialize};

/// One secret store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretSourceKind {
    /// Files named by key in `secrets.dir` and `PLATFORM__…_FILE` variables.
    Files,
    /// HashiCorp Vault / OpenBao KV v2 (`secrets.vault.*`).
    Vault,
    /// AWS Secrets Manager (`secrets.aws.*`).
    Aws,
}

impl SecretSourceKind {
    /// The name used in settings and in `config check`'s layers.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Files => "files",
            Self::Vault => "vault",
            Self::Aws => "aws",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        match name.trim() {
            "files" => Some(Self::Files),
            "vault" => Some(Self::Vault),
            "aws" => Some(Self::Aws),
            _ => None,
        }
    }
}

/// A list written as YAML list or, for environment variables, as one
/// comma-separated string (`PLATFORM__SECRETS__SOURCE=files,vault`).
pub(super) fn list_or_csv<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Raw::deserialize(deserializer)? {
        Raw::One(text) => text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Raw::Many(items) => items,
    })
}

fn source_kinds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<SecretSourceKind>, D::Error> {
    list_or_csv(deserializer)?
        .iter()
        .map(|name| {
            SecretSourceKind::parse(name)
                .ok_or_else(|| serde::de::Error::custom(format!("`{name}` is not files, vault or aws")))
        })
        .collect()
}

/// `secrets.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SecretsSettings {
    /// Directory of files named by key (empty: none).
    pub dir: String,
    /// The stores read, in order; a key found in a later store replaces the
    /// earlier one's (`[files, vault]`: Vault wins).
    #[serde(default = "files_only", deserialize_with = "source_kinds")]
    pub source: Vec<SecretSourceKind>,
    /// Keys that must come from a store: start-up stops naming the key when
    /// none of the stores has it.
    #[serde(default, deserialize_with = "list_or_csv")]
    pub required: Vec<String>,
    /// How often the stores are read again (0: never); see README for which
    /// secrets rotate live.
    #[serde(default, with = "humantime_serde")]
    pub refresh_interval: Duration,
    /// Attempts at reaching a remote store at start-up before giving up.
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// Vault / OpenBao.
    #[serde(default)]
    pub vault: VaultConfig,
    /// AWS Secrets Manager.
    #[serde(default)]
    pub aws: AwsConfig,
}

fn files_only() -> Vec<SecretSourceKind> {
    vec![SecretSourceKind::Files]
}

fn default_attempts() -> u32 {
    4
}

fn default_timeout() -> Duration {
    Duration::from_secs(5)
}

/// `secrets.vault.*`
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VaultConfig {
    /// `https://vault.internal:8200`.
    pub address: String,
    /// KV v2 mount (`secret`).
    pub mount: String,
    /// Paths under the mount, in order (later wins); `path` or `path=prefix`.
    #[serde(deserialize_with = "list_or_csv")]
    pub paths: Vec<String>,
    /// Vault Enterprise / HCP namespace.
    pub namespace: String,
    /// `token` (default) or `approle`.
    pub auth: String,
    /// The token (empty: `VAULT_TOKEN`).
    pub token: SecretString,
    /// AppRole mount (`approle`).
    pub approle_mount: String,
    /// AppRole role id.
    pub role_id: String,
    /// AppRole secret id.
    pub secret_id: SecretString,
    /// PEM file of the CA that signed Vault's certificate.
    pub ca_file: String,
    /// Bound on each request.
    #[serde(with = "humantime_serde", default = "default_timeout")]
    pub timeout: Duration,
}

/// `secrets.aws.*`
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AwsConfig {
    /// Region (empty: `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's).
    pub region: String,
    /// A compatible endpoint instead of AWS's (`http://127.0.0.1:15000`).
    pub endpoint: String,
    /// Secret ids, in order (later wins); `id`, `id=prefix` for a JSON
    /// secret under a prefix, or `id#key` for a plain-text secret that is one key
    /// (`#` because ARNs hold colons).
    #[serde(deserialize_with = "list_or_csv")]
    pub secrets: Vec<String>,
    /// Staging label (`AWSCURRENT` when empty).
    pub version_stage: String,
    /// Credentials profile (empty: `AWS_PROFILE`, else `default`).
    pub profile: String,
    /// Extra CA certificates (PEM).
    pub ca_file: String,
    /// Bound on each request.
    #[serde(with = "humantime_serde", default = "default_timeout")]
    pub timeout: Duration,
}

/// `telemetry.*`
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TelemetrySettings {
    /// OTLP trace export.
    pub otlp: OtlpConfig,
}

/// `telemetry.otlp.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct OtlpConfig {
    /// Off by default.
    pub enabled: bool,
    /// Collector URL (`http://collector:4318` for HTTP, `:4317` for gRPC).
    pub endpoint: String,
    /// `grpc` or `http` (`http/protobuf`).
    pub protocol: String,
    /// Share of new traces exported (0.0 to 1.0); a caller's decision wins.
    pub sampling_ratio: f64,
    /// `service.name`.
    pub service_name: String,
    /// Bound on one export.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for OtlpConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            endpoint: "http://127.0.0.1:4318".to_owned(),
            protocol: "http".to_owned(),
            sampling_ratio: 1.0,
            service_name: "platform".to_owned(),
            timeout: Duration::from_secs(10),
        }
    }
}

/// `error_bus.sentry.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct SentryConfig {
    /// `https://KEY@HOST/PROJECT`; empty: no Sentry sink. A secret.
    pub dsn: SecretString,
    /// Events sent per minute at most.
    pub max_events_per_minute: u32,
    /// Reports waiting to be sent before new ones are dropped.
    pub queue_capacity: usize,
}

impl Default for SentryConfig {
    fn default() -> Self {
        Self {
            dsn: SecretString::default(),
            max_events_per_minute: 60,
            queue_capacity: 100,
        }
    }
}
