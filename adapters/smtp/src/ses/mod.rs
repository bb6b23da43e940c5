//! [`SesMailer`]: mail through AWS SES v2 `SendEmail`, carrying the raw MIME
//! lettre builds, signed with SigV4.

mod client;
mod credentials;

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use platform_ports::BoxError;
use platform_ports::health::{HealthChecker, HealthStatus};
use platform_ports::model::SecretString;
use platform_ports::notify::{EmailMessage, Mailer, NotifyError};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tracing::Instrument as _;
use uuid::Uuid;

use crate::message::MessageFactory;
use client::SesClient;
use credentials::{AwsCredentials, CredentialChain, process_env};

/// Where and as whom to send (`mail.ses.*`).
#[derive(Clone, Debug, Default)]
pub struct SesSettings {
    /// AWS region; empty: `AWS_REGION`, `AWS_DEFAULT_REGION`, or the profile's `region`.
    pub region: String,
    /// Endpoint override (an SES-compatible server); empty: `https://email.{region}.amazonaws.com`.
    pub endpoint: String,
    /// The `From` mailbox (`mail.from`); its address or domain must be verified in SES.
    pub from: String,
    /// Configuration set for event publishing; empty: none.
    pub configuration_set: String,
    /// Access key id; empty: the standard chain (environment, then shared files).
    pub access_key_id: String,
    /// Secret key, with `access_key_id`.
    pub secret_access_key: SecretString,
    /// Session token, with temporary keys.
    pub session_token: SecretString,
    /// Profile in the shared files; empty: `AWS_PROFILE`, else `default`.
    pub profile: String,
    /// Bound on each request.
    pub timeout: Duration,
}

/// A [`Mailer`] on SES v2: throttling, 5xx answers and refused credentials
/// are [`NotifyError::Unavailable`] (retried); a rejected message or address
/// is [`NotifyError::Rejected`] with SES's reason.
pub struct SesMailer {
    client: SesClient,
    factory: MessageFactory,
    configuration_set: Option<String>,
    /// The endpoint's host, port and region, for the client span.
    host: String,
    port: u16,
    region: String,
}

impl SesMailer {
    /// A mailer for `settings`; fails now when no region or credentials can be found.
    ///
    /// # Errors
    /// A message naming the `mail.ses.*` key (or `mail.from`) that is wrong.
    pub fn new(settings: &SesSettings) -> Result<Self, String> {
        let factory = MessageFactory::new(&settings.from).map_err(|e| e.to_string())?;
        let chain = CredentialChain {
            explicit: (!settings.access_key_id.is_empty()).then(|| AwsCredentials {
                access_key_id: settings.access_key_id.clone(),
                secret_access_key: settings.secret_access_key.clone(),
                session_token: (!settings.session_token.is_empty()).then(|| settings.session_token.clone()),
                source: "mail.ses.access_key_id".into(),
            }),
            profile: (!settings.profile.is_empty()).then(|| settings.profile.clone()),
        };
        let found = chain.resolve(&process_env).map_err(|e| format!("mail.ses: {e}"))?;
        let region = match settings.region.trim() {
            "" => chain
                .region(&process_env)
                .map_err(|e| format!("mail.ses.region: {e}"))?
                .ok_or("mail.ses.region: not set, and neither AWS_REGION nor the profile names one")?,
            region => region.to_owned(),
        };
        let endpoint = match settings.endpoint.trim() {
            "" => format!("https://email.{region}.amazonaws.com"),
            endpoint => endpoint.to_owned(),
        };
        let url = reqwest::Url::parse(&endpoint)
            .ok()
            .filter(|url| matches!(url.scheme(), "https" | "http") && url.host_str().is_some())
            .ok_or_else(|| format!("mail.ses.endpoint: `{endpoint}` is not an http(s) URL"))?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let port = url.port_or_known_default().unwrap_or(443);
        tracing::info!(%endpoint, %region, credentials = %found.source, "SES mailer ready");
        let timeout = if settings.timeout.is_zero() {
            Duration::from_secs(10)
        } else {
            settings.timeout
        };
        Ok(Self {
            client: SesClient::new(endpoint, region.clone(), chain, timeout).map_err(|e| format!("mail.ses: {e}"))?,
            factory,
            configuration_set: (!settings.configuration_set.is_empty()).then(|| settings.configuration_set.clone()),
            host,
            port,
            region,
        })
    }

    /// A health check asking SES about the sender's identity (its address,
    /// else its domain): it must exist and be verified.
    ///
    /// # Errors
    /// As [`SesMailer::new`].
    pub fn health_checker(settings: &SesSettings) -> Result<SesHealthChecker, String> {
        let mailer = Self::new(settings)?;
        Ok(SesHealthChecker { mailer })
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, message: &EmailMessage) -> Result<(), NotifyError> {
        let built = self.factory.build(message, Uuid::now_v7(), SystemTime::now())?;
        let mut request = json!({
            "FromEmailAddress": self.factory.from().email.to_string(),
            "Destination": { "ToAddresses": [message.to.address] },
            "Content": { "Raw": { "Data": STANDARD.encode(built.formatted()) } },
        });
        if let Some(set) = &self.configuration_set {
            request["ConfigurationSetName"] = json!(set);
        }
        // A client span per message, named and attributed as the SMTP
        // mailer's (no recipient: it names a person), with the AWS API
        // conventions' `rpc.*` and `cloud.region`.
        let span = tracing::info_span!(
            "ses.send",
            otel.name = "ses send",
            otel.kind = "client",
            otel.status_code = tracing::field::Empty,
            network.protocol.name = "http",
            server.address = %self.host,
            server.port = self.port,
            rpc.system = "aws-api",
            rpc.service = "SESv2",
            rpc.method = "SendEmail",
            cloud.region = %self.region,
            http.request.method = "POST",
            http.response.status_code = tracing::field::Empty,
        );
        let response = self
            .client
            .call(Method::POST, "/v2/email/outbound-emails", Some(&request))
            .instrument(span.clone())
            .await;
        let response = match response {
            Ok(response) => response,
            Err(err) => {
                span.record("otel.status_code", "ERROR");
                return Err(err);
            }
        };
        span.record("http.response.status_code", response.status.as_u16());
        if !response.status.is_success() {
            span.record("otel.status_code", "ERROR");
            return Err(response.into_error());
        }
        let id = response
            .body
            .get("MessageId")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        tracing::info!(ses_message_id = %id, "mail accepted by SES");
        Ok(())
    }
}

/// Health of SES for our sender: `GetEmailIdentity` answers, and verified.
pub struct SesHealthChecker {
    mailer: SesMailer,
}

#[async_trait]
impl HealthChecker for SesHealthChecker {
    async fn check(&self) -> Result<HealthStatus, BoxError> {
        let address = self.mailer.factory.from().email.clone();
        for identity in [address.to_string(), address.domain().to_owned()] {
            let path = format!("/v2/email/identities/{}", urlencode(&identity));
            let response = self.mailer.client.call(Method::GET, &path, None).await?;
            if response.status == StatusCode::NOT_FOUND {
                continue;
            }
            if !response.status.is_success() {
                return Err(Box::new(response.into_error()));
            }
            let verified = response.body.get("VerifiedForSendingStatus").and_then(|v| v.as_bool()) == Some(true)
                || response.body.get("VerificationStatus").and_then(|v| v.as_str()) == Some("SUCCESS");
            return if verified {
                Ok(HealthStatus::Up)
            } else {
                Err(format!("SES identity `{identity}` is not verified for sending").into())
            };
        }
        Err(format!("SES knows neither `{address}` nor its domain as an identity").into())
    }
}

/// Percent-encodes a path segment (an address holds `@` and maybe `+`).
fn urlencode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}
