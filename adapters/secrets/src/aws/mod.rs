//! AWS Secrets Manager as a secret source.

mod client;
mod credentials;
mod health;
mod profile;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use platform_ports::model::SecretString;
use platform_ports::secrets::{SecretError, SecretSet, SecretValue};
use serde_json::{Value, json};

pub use self::client::SecretsManagerClient;
pub use self::credentials::{AwsCredentials, AwsCredentialsChain};
pub use self::health::AwsSecretsManagerHealthChecker;
use crate::flatten::insert_wanted;
use crate::http::SettingsError;
use crate::retry::{Failure, RetryPolicy, retry};

/// What a Secrets Manager call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// No usable credentials (the chain found none, or a file is broken).
    #[error("no usable AWS credentials: {0}")]
    Credentials(String),
    /// The request could not be signed.
    #[error("the request could not be signed: {0}")]
    Signing(String),
    /// Nothing answered (connection refused, timeout).
    #[error("no answer from Secrets Manager")]
    Transport(#[source] crate::http::TransportError),
    /// The service answered with an error.
    #[error("{action}: {code} (HTTP {status}): {message}")]
    Service {
        /// The action called.
        action: String,
        /// The HTTP status.
        status: u16,
        /// The error code (`ResourceNotFoundException`).
        code: String,
        /// The service's message.
        message: String,
    },
    /// The answer was not what the API promises.
    #[error("unexpected answer: {0}")]
    Unexpected(String),
}

impl AwsError {
    /// Whether the secret (or version) does not exist.
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Service { code, .. } if code == "ResourceNotFoundException")
    }

    /// Whether another attempt may succeed.
    fn into_failure(self) -> Failure {
        let transient = match &self {
            Self::Transport(_) => true,
            Self::Service { status, code, .. } => {
                *status >= 500 || *status == 429 || matches!(code.as_str(), "ThrottlingException" | "RequestTimeout")
            }
            _ => false,
        };
        let denied = match &self {
            Self::Credentials(_) => true,
            Self::Service { status, code, .. } => {
                *status == 403
                    || matches!(
                        code.as_str(),
                        "AccessDeniedException"
                            | "UnrecognizedClientException"
                            | "InvalidSignatureException"
                            | "IncompleteSignature"
                            | "ExpiredTokenException"
                    )
            }
            _ => false,
        };
        match (transient, denied) {
            (true, _) => Failure::Transient(Box::new(self)),
            (_, true) => Failure::Denied(Box::new(self)),
            _ => Failure::Unreadable(Box::new(self)),
        }
    }
}

/// One secret in Secrets Manager and how it becomes configuration keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsSecret {
    /// The secret's name or ARN.
    pub id: String,
    /// Put in front of every field of a JSON secret (`database` + `dsn` → `database.dsn`).
    pub prefix: Option<String>,
    /// When set, the whole secret is this one key: plain text as it is, a
    /// binary secret as UTF-8 text or, when it is not UTF-8, standard base64.
    pub key: Option<String>,
}

impl AwsSecret {
    /// A JSON secret whose field names are the configuration keys.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            prefix: None,
            key: None,
        }
    }
}

/// Where the Secrets Manager source reads (`secrets.aws.*`).
#[derive(Clone, Debug)]
pub struct AwsSecretsManagerSettings {
    /// `eu-west-1`; when `None`, `AWS_REGION` / `AWS_DEFAULT_REGION` / the profile's region.
    pub region: Option<String>,
    /// A compatible server (`http://127.0.0.1:15000`) instead of AWS's endpoint.
    pub endpoint: Option<String>,
    /// The secrets read, in order; a later secret's key wins.
    pub secrets: Vec<AwsSecret>,
    /// The staging label read (`AWSCURRENT`).
    pub version_stage: String,
    /// PEM file with extra CA certificates (a TLS-inspecting proxy, a private endpoint).
    pub ca_file: Option<PathBuf>,
    /// Bound on each request.
    pub timeout: Duration,
    /// Retry while the endpoint does not answer or throttles.
    pub retry: RetryPolicy,
}

impl Default for AwsSecretsManagerSettings {
    fn default() -> Self {
        Self {
            region: None,
            endpoint: None,
            secrets: Vec::new(),
            version_stage: "AWSCURRENT".to_owned(),
            ca_file: None,
            timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
        }
    }
}

/// Reads configuration keys from Secrets Manager secrets.
#[derive(Clone)]
pub struct AwsSecretsManagerSource {
    inner: Arc<Inner>,
}

struct Inner {
    client: SecretsManagerClient,
    secrets: Vec<AwsSecret>,
    version_stage: String,
    retry: RetryPolicy,
    name: String,
}

impl fmt::Debug for AwsSecretsManagerSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsSecretsManagerSource")
            .field("name", &self.inner.name)
            .finish_non_exhaustive()
    }
}

/// A secret's current value as the API returned it.
struct Fetched {
    value: SecretString,
    /// The version the stage points at.
    version_id: Option<String>,
}

impl AwsSecretsManagerSource {
    /// A source over `settings`, signing with `credentials`; nothing is sent
    /// until the first read.
    ///
    /// # Errors
    /// A [`SettingsError`] naming the `secrets.aws.*` key that cannot be used.
    pub fn new(settings: AwsSecretsManagerSettings, credentials: AwsCredentialsChain) -> Result<Self, SettingsError> {
        if settings.secrets.is_empty() {
            return Err(SettingsError::new("secrets.aws.secrets", "name at least one secret"));
        }
        if let Some(empty) = settings.secrets.iter().position(|s| s.id.is_empty()) {
            return Err(SettingsError::new(
                format!("secrets.aws.secrets[{empty}].id"),
                "must not be empty",
            ));
        }
        let client = SecretsManagerClient::new(&settings, credentials)?;
        let ids: Vec<&str> = settings.secrets.iter().map(|s| s.id.as_str()).collect();
        let name = format!("aws-secrets-manager {} {}", client.endpoint(), ids.join(","));
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                secrets: settings.secrets,
                version_stage: settings.version_stage,
                retry: settings.retry,
                name,
            }),
        })
    }

    /// A health checker for this store.
    #[must_use]
    pub fn health_checker(&self) -> AwsSecretsManagerHealthChecker {
        AwsSecretsManagerHealthChecker::new(self.inner.client.clone(), self.inner.secrets[0].id.clone())
    }

    /// One attempt at reading a secret's staged value; `None` when it does not exist.
    async fn fetch_once(&self, id: &str) -> Result<Option<Fetched>, Failure> {
        let body = json!({ "SecretId": id, "VersionStage": self.inner.version_stage });
        let reply = match self.inner.client.call("GetSecretValue", &body).await {
            Ok(reply) => reply,
            Err(err) if err.is_not_found() => return Ok(None),
            Err(err) => return Err(err.into_failure()),
        };
        let version_id = reply.get("VersionId").and_then(Value::as_str).map(str::to_owned);
        if let Some(text) = reply.get("SecretString").and_then(Value::as_str) {
            return Ok(Some(Fetched {
                value: SecretString::new(text),
                version_id,
            }));
        }
        let Some(encoded) = reply.get("SecretBinary").and_then(Value::as_str) else {
            return Err(Failure::Unreadable(
                format!("secret `{id}` has neither SecretString nor SecretBinary").into(),
            ));
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| Failure::Unreadable(format!("secret `{id}`: SecretBinary is not base64: {e}").into()))?;
        // Key material is often not text; base64 is how it fits in a string setting.
        let text = String::from_utf8(bytes)
            .unwrap_or_else(|err| base64::engine::general_purpose::STANDARD.encode(err.into_bytes()));
        Ok(Some(Fetched {
            value: SecretString::new(text),
            version_id,
        }))
    }
}

crate::remote_source!(AwsSecretsManagerSource);

impl AwsSecretsManagerSource {
    /// Every key of `keys` found in the configured locations, later locations winning.
    async fn read_keys(&self, keys: &[&str]) -> Result<SecretSet, SecretError> {
        let mut set = SecretSet::new();
        let Some(first) = keys.first() else {
            return Ok(set);
        };
        let store = &self.inner.name;
        for secret in &self.inner.secrets {
            let fetched = retry(self.inner.retry, || self.fetch_once(&secret.id))
                .await
                .map_err(|(failure, attempts)| failure.into_secret_error(store, first, attempts))?;
            let Some(Fetched { value, version_id }) = fetched else {
                tracing::debug!(store = %store, secret = %secret.id, "secret absent");
                continue;
            };
            let version = version_id.map(|v| format!("{}@{v}", secret.id));
            if let Some(key) = &secret.key {
                if keys.contains(&key.as_str()) {
                    set.insert(key.clone(), SecretValue { value, version });
                }
                continue;
            }
            let object = match serde_json::from_str::<Value>(value.expose()) {
                Ok(Value::Object(object)) => object,
                _ => {
                    return Err(SecretError::Unreadable {
                        store: store.clone(),
                        key: (*first).to_owned(),
                        source: format!(
                            "secret `{}` is not a JSON object; give it a `key` to use it whole",
                            secret.id
                        )
                        .into(),
                    });
                }
            };
            insert_wanted(&mut set, keys, secret.prefix.as_deref(), &object, version.as_deref());
        }
        Ok(set)
    }
}
