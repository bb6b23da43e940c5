//! [`SmtpMailer`]: mail over SMTP with lettre (tokio, rustls, pooled
//! connections), and its [`SmtpHealthChecker`].

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::{Error as SmtpError, PoolConfig};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use platform_ports::BoxError;
use platform_ports::health::{HealthChecker, HealthStatus};
use platform_ports::model::SecretString;
use platform_ports::notify::{EmailMessage, Mailer, NotifyError};
use tracing::Instrument as _;
use uuid::Uuid;

use crate::message::MessageFactory;

/// How the connection to the SMTP server is protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text: only for a local capture server.
    None,
    /// Plain connection upgraded with STARTTLS, which the server must offer (port 587).
    #[default]
    StartTls,
    /// TLS from the first byte (SMTPS, port 465).
    Implicit,
}

/// Where and how to send (`mail.smtp.*`).
#[derive(Clone, Debug)]
pub struct SmtpSettings {
    /// Server host name (also the name its certificate must carry).
    pub host: String,
    /// Server port.
    pub port: u16,
    /// Connection protection.
    pub tls: SmtpTls,
    /// User for AUTH PLAIN/LOGIN; empty: no authentication.
    pub username: String,
    /// Password for AUTH.
    pub password: SecretString,
    /// The `From` mailbox (`mail.from`).
    pub from: String,
    /// Bound on connecting and on each SMTP command.
    pub timeout: Duration,
    /// Most open connections kept in the pool.
    pub pool_max_size: u32,
    /// How long an idle pooled connection is kept.
    pub pool_idle_timeout: Duration,
    /// A PEM file of extra trusted roots (a private CA or a self-signed server).
    pub ca_file: Option<PathBuf>,
    /// The EHLO name; `None`: this host's name.
    pub hello_name: Option<String>,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 587,
            tls: SmtpTls::StartTls,
            username: String::new(),
            password: SecretString::default(),
            from: "Platform <no-reply@localhost>".into(),
            timeout: Duration::from_secs(10),
            pool_max_size: 4,
            pool_idle_timeout: Duration::from_secs(60),
            ca_file: None,
            hello_name: None,
        }
    }
}

/// Why the SMTP settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SmtpConfigError {
    /// A setting is not acceptable (the text names the key).
    #[error("{0}")]
    Invalid(String),
    /// The CA file cannot be read or parsed.
    #[error("mail.smtp.ca_file: cannot use `{path}`: {reason}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// What both the mailer and its health check connect with.
#[derive(Clone)]
struct Endpoint {
    host: String,
    port: u16,
    tls: SmtpTls,
    parameters: Option<TlsParameters>,
    timeout: Duration,
    hello: ClientId,
}

impl Endpoint {
    fn new(settings: &SmtpSettings) -> Result<Self, SmtpConfigError> {
        if settings.host.trim().is_empty() {
            return Err(SmtpConfigError::Invalid("mail.smtp.host: must not be empty".into()));
        }
        if settings.port == 0 {
            return Err(SmtpConfigError::Invalid("mail.smtp.port: must not be 0".into()));
        }
        let parameters = match settings.tls {
            SmtpTls::None => None,
            SmtpTls::StartTls | SmtpTls::Implicit => Some(tls_parameters(settings)?),
        };
        let hello = settings
            .hello_name
            .clone()
            .filter(|n| !n.is_empty())
            .map_or_else(ClientId::default, ClientId::Domain);
        Ok(Self {
            host: settings.host.clone(),
            port: settings.port,
            tls: settings.tls,
            parameters,
            timeout: settings.timeout,
            hello,
        })
    }

    fn lettre_tls(&self) -> Tls {
        match (&self.tls, &self.parameters) {
            (SmtpTls::StartTls, Some(p)) => Tls::Required(p.clone()),
            (SmtpTls::Implicit, Some(p)) => Tls::Wrapper(p.clone()),
            _ => Tls::None,
        }
    }
}

fn tls_parameters(settings: &SmtpSettings) -> Result<TlsParameters, SmtpConfigError> {
    let mut builder = TlsParameters::builder(settings.host.clone());
    if let Some(path) = &settings.ca_file {
        let ca_error = |reason: String| SmtpConfigError::CaFile {
            path: path.clone(),
            reason,
        };
        let pem = std::fs::read(path).map_err(|e| ca_error(e.to_string()))?;
        let certificate = Certificate::from_pem(&pem).map_err(|e| ca_error(e.to_string()))?;
        builder = builder.add_root_certificate(certificate);
    }
    builder
        .build_rustls()
        .map_err(|e| SmtpConfigError::Invalid(format!("mail.smtp.tls: {e}")))
}

/// A [`Mailer`] over SMTP: pooled connections, STARTTLS or implicit TLS (or
/// plain text for a local capture server), AUTH PLAIN/LOGIN, timeouts.
///
/// A 5xx reply is [`NotifyError::Rejected`] with the server's reply, except
/// the authentication codes (530, 534, 535, 538): those concern our
/// credentials, not the message, so they stay retryable like a 4xx reply, a
/// refused connection or a timeout ([`NotifyError::Unavailable`]).
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    factory: MessageFactory,
    /// The server, for the client span.
    host: String,
    port: u16,
}

impl SmtpMailer {
    /// A mailer for `settings`; no connection is opened until the first send.
    ///
    /// # Errors
    /// [`SmtpConfigError`] naming the key that is wrong.
    pub fn new(settings: &SmtpSettings) -> Result<Self, SmtpConfigError> {
        let factory = MessageFactory::new(&settings.from).map_err(|e| SmtpConfigError::Invalid(e.to_string()))?;
        let endpoint = Endpoint::new(settings)?;
        let pool = PoolConfig::new()
            .max_size(settings.pool_max_size.max(1))
            .idle_timeout(settings.pool_idle_timeout);
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(endpoint.host.clone())
            .port(endpoint.port)
            .tls(endpoint.lettre_tls())
            .timeout(Some(endpoint.timeout))
            .hello_name(endpoint.hello.clone())
            .pool_config(pool);
        if !settings.username.is_empty() {
            builder = builder
                .credentials(Credentials::new(
                    settings.username.clone(),
                    settings.password.expose().to_owned(),
                ))
                .authentication(vec![Mechanism::Plain, Mechanism::Login]);
        }
        Ok(Self {
            transport: builder.build(),
            factory,
            host: endpoint.host,
            port: endpoint.port,
        })
    }

    /// A health check that opens its own connection and expects an EHLO
    /// answer (and a STARTTLS upgrade when configured).
    ///
    /// # Errors
    /// As [`SmtpMailer::new`].
    pub fn health_checker(settings: &SmtpSettings) -> Result<SmtpHealthChecker, SmtpConfigError> {
        Ok(SmtpHealthChecker {
            endpoint: Endpoint::new(settings)?,
        })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, message: &EmailMessage) -> Result<(), NotifyError> {
        let built = self.factory.build(message, Uuid::now_v7(), SystemTime::now())?;
        // A client span per message (no recipient: it names a person).
        let span = tracing::info_span!(
            "smtp.send",
            otel.name = "smtp send",
            otel.kind = "client",
            network.protocol.name = "smtp",
            server.address = %self.host,
            server.port = self.port,
        );
        let response = self.transport.send(built).instrument(span).await.map_err(classify)?;
        tracing::info!(
            code = %response.code(),
            reply = %response.message().collect::<Vec<_>>().join(" "),
            "mail accepted by the SMTP server"
        );
        Ok(())
    }
}

/// Sorts lettre's errors into permanent refusals and retryable failures.
pub(crate) fn classify(err: SmtpError) -> NotifyError {
    let reply = || {
        let code = err.status().map(|c| c.to_string()).unwrap_or_default();
        let text = std::error::Error::source(&err)
            .map(ToString::to_string)
            .unwrap_or_default();
        format!("{code} {text}").trim().to_owned()
    };
    let auth_code = err
        .status()
        .is_some_and(|c| ["530", "534", "535", "538"].contains(&c.to_string().as_str()));
    if err.is_permanent() && !auth_code {
        NotifyError::Rejected {
            channel: "smtp",
            reply: reply(),
        }
    } else if err.is_permanent() || err.is_transient() {
        NotifyError::Unavailable {
            channel: "smtp",
            reason: reply(),
        }
    } else {
        NotifyError::Unavailable {
            channel: "smtp",
            reason: chain(&err),
        }
    }
}

/// An error and its causes on one line (lettre's text already holds the first cause).
pub(crate) fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Health of the SMTP server: a fresh connection answers EHLO (and, with
/// STARTTLS configured, upgrades), then QUIT.
pub struct SmtpHealthChecker {
    endpoint: Endpoint,
}

#[async_trait]
impl HealthChecker for SmtpHealthChecker {
    async fn check(&self) -> Result<HealthStatus, BoxError> {
        let e = &self.endpoint;
        let implicit = matches!(e.tls, SmtpTls::Implicit)
            .then(|| e.parameters.clone())
            .flatten();
        let mut connection =
            AsyncSmtpConnection::connect_tokio1((e.host.as_str(), e.port), Some(e.timeout), &e.hello, implicit, None)
                .await?;
        if let (SmtpTls::StartTls, Some(parameters)) = (e.tls, &e.parameters) {
            connection.starttls(parameters.clone(), &e.hello).await?;
        }
        connection.quit().await?;
        Ok(HealthStatus::Up)
    }
}
