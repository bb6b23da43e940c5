//! SigV4-signed calls to the SES v2 API over reqwest (rustls with ring).

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use platform_ports::notify::NotifyError;
use reqwest::{Method, StatusCode};

use super::credentials::{AwsCredentials, CredentialChain, process_env};

/// The signing name of SES (v1 and v2 share it).
const SERVICE: &str = "ses";

/// One SES v2 endpoint in one region, with the credential chain.
pub(crate) struct SesClient {
    http: reqwest::Client,
    endpoint: String,
    region: String,
    chain: CredentialChain,
}

/// An SES answer: status and body.
pub(crate) struct SesResponse {
    pub(crate) status: StatusCode,
    pub(crate) error_type: Option<String>,
    pub(crate) body: serde_json::Value,
}

impl SesClient {
    pub(crate) fn new(
        endpoint: String,
        region: String,
        chain: CredentialChain,
        timeout: Duration,
    ) -> Result<Self, String> {
        Ok(Self {
            http: http_client(timeout)?,
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            region,
            chain,
        })
    }

    /// Credentials as the chain finds them now (files may have been rotated).
    pub(crate) fn credentials(&self) -> Result<AwsCredentials, String> {
        self.chain.resolve(&process_env)
    }

    /// Sends a signed request to `path` (under the endpoint) with a JSON body.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<SesResponse, NotifyError> {
        let credentials = self
            .credentials()
            .map_err(|reason| NotifyError::Unavailable { channel: "ses", reason })?;
        let url = format!("{}{path}", self.endpoint);
        let body = body.map(serde_json::Value::to_string).unwrap_or_default();
        let mut headers = vec![("content-type", "application/json".to_owned())];
        headers.extend(self.signature(&credentials, method.as_str(), &url, &body, &headers)?);
        let mut request = self.http.request(method, &url).body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(|e| NotifyError::Unavailable {
            channel: "ses",
            reason: crate::smtp::chain(&e),
        })?;
        let status = response.status();
        // `x-amzn-ErrorType: MessageRejected:http://internal.amazon.com/...`
        let error_type = response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(':').next().unwrap_or(v).to_owned());
        let bytes = response.bytes().await.map_err(|e| NotifyError::Unavailable {
            channel: "ses",
            reason: crate::smtp::chain(&e),
        })?;
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Ok(SesResponse {
            status,
            error_type,
            body,
        })
    }

    /// The SigV4 headers (`authorization`, `x-amz-date`, `x-amz-security-token`).
    fn signature(
        &self,
        credentials: &AwsCredentials,
        method: &str,
        url: &str,
        body: &str,
        headers: &[(&str, String)],
    ) -> Result<Vec<(&'static str, String)>, NotifyError> {
        let identity: Identity = aws_credential_types::Credentials::new(
            credentials.access_key_id.clone(),
            credentials.secret_access_key.expose().to_owned(),
            credentials.session_token.as_ref().map(|t| t.expose().to_owned()),
            None,
            "platform",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(SERVICE)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| NotifyError::Invalid(format!("cannot sign the SES request: {e}")))?;
        let signable = SignableRequest::new(
            method,
            url,
            headers.iter().map(|(k, v)| (*k, v.as_str())),
            SignableBody::Bytes(body.as_bytes()),
        )
        .map_err(|e| NotifyError::Invalid(format!("cannot sign the SES request: {e}")))?;
        let (instructions, _signature) = sign(signable, &params.into())
            .map_err(|e| NotifyError::Invalid(format!("cannot sign the SES request: {e}")))?
            .into_parts();
        let (signed, _query) = instructions.into_parts();
        Ok(signed
            .into_iter()
            .map(|header| (header.name(), header.value().to_owned()))
            .collect())
    }
}

/// reqwest on rustls with ring and the Mozilla roots (its `rustls-tls`).
fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .map_err(|e| e.to_string())
}

impl SesResponse {
    /// `TooManyRequestsException: Maximum sending rate exceeded.`
    pub(crate) fn reason(&self) -> String {
        let message = ["message", "Message"]
            .iter()
            .find_map(|k| self.body.get(*k))
            .or_else(|| self.body.get("Error").and_then(|e| e.get("Message")))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| match &self.body {
                serde_json::Value::String(s) => s.chars().take(300).collect(),
                other => other.to_string(),
            });
        let kind = self
            .error_type
            .clone()
            .or_else(|| {
                ["__type", "code"]
                    .iter()
                    .find_map(|k| self.body.get(*k))
                    .or_else(|| self.body.get("Error").and_then(|e| e.get("Code")))
                    .and_then(serde_json::Value::as_str)
                    .map(|t| t.rsplit('#').next().unwrap_or(t).to_owned())
            })
            .unwrap_or_else(|| self.status.to_string());
        format!("{kind}: {message}")
    }

    /// Throttling, server errors and refused credentials may pass; the rest
    /// (a rejected message or address, an unverified sender) will not.
    pub(crate) fn into_error(self) -> NotifyError {
        let throttled = self
            .error_type
            .as_deref()
            .is_some_and(|t| t.contains("TooManyRequests") || t.contains("Throttling") || t.contains("LimitExceeded"));
        let retryable = throttled
            || self.status.is_server_error()
            || matches!(
                self.status,
                StatusCode::TOO_MANY_REQUESTS
                    | StatusCode::REQUEST_TIMEOUT
                    | StatusCode::UNAUTHORIZED
                    | StatusCode::FORBIDDEN
            );
        let reason = self.reason();
        if retryable {
            NotifyError::Unavailable { channel: "ses", reason }
        } else {
            NotifyError::Rejected {
                channel: "ses",
                reply: reason,
            }
        }
    }
}
