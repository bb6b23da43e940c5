//! The HTTPS client the remote stores share: hyper with rustls on ring,
//! Mozilla's roots plus an optional CA file, and one deadline per exchange;
//! and how a failed exchange is classified for the retry.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use platform_ports::BoxError;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;

use crate::retry::Failure;

/// A setting that cannot be used; names the configuration key.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {message}")]
pub struct SettingsError {
    /// The configuration key (`secrets.vault.ca_file`).
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

impl SettingsError {
    pub(crate) fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// An exchange that got no complete answer.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// No answer within the deadline.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// Connecting, TLS, or reading the answer failed.
    #[error("the connection failed")]
    Connection(#[source] BoxError),
}

/// An answer, body read in full.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Bytes,
}

impl Answer {
    /// The body, cut short, for an error message: enough to say why, never a
    /// secret (error bodies of both stores carry messages, not values).
    pub(crate) fn error_text(&self, what: &str) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let text: String = text.chars().take(300).collect();
        format!("{what}: HTTP {}: {}", self.status, text.trim())
    }
}

/// HTTPS (and plain HTTP, for local stores) with a deadline on each exchange.
#[derive(Clone, Debug)]
pub(crate) struct HttpClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl HttpClient {
    /// A client trusting Mozilla's roots and, when given, the PEM
    /// certificates in `ca_file` (a private CA in front of Vault). `key`
    /// names the CA setting in errors.
    pub(crate) fn new(ca_file: Option<&Path>, timeout: Duration, key: &str) -> Result<Self, SettingsError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = ca_file {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                .map_err(|e| {
                    SettingsError::new(key, format!("cannot read CA certificates from {}: {e}", path.display()))
                })?;
            if certs.is_empty() {
                return Err(SettingsError::new(
                    key,
                    format!("{} holds no PEM certificate", path.display()),
                ));
            }
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| SettingsError::new(key, format!("{}: {e}", path.display())))?;
            }
        }
        // An explicit provider rather than the process default: nothing else
        // has to install one, and aws-lc never enters the build.
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| SettingsError::new(key, format!("TLS setup failed: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(timeout.min(Duration::from_secs(5))));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            timeout,
        })
    }

    /// Sends `request` and reads the whole answer, all within the deadline.
    pub(crate) async fn send(&self, request: Request<Full<Bytes>>) -> Result<Answer, TransportError> {
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| TransportError::Connection(Box::new(e)))?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| TransportError::Connection(Box::new(e)))?
                .to_bytes();
            Ok(Answer { status, body })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| TransportError::Timeout(self.timeout))?
    }
}

/// A request that got no answer: always worth another attempt.
pub(crate) fn transport(err: TransportError) -> Failure {
    Failure::Transient(Box::new(err))
}

/// Statuses that mean "not now" rather than "no": retried.
pub(crate) fn is_transient(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::REQUEST_TIMEOUT
}

/// `value` as a JSON request body.
pub(crate) fn json_body(value: &serde_json::Value) -> Full<Bytes> {
    Full::new(Bytes::from(value.to_string()))
}
