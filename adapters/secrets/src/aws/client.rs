//! One SigV4-signed Secrets Manager call over HTTPS (the JSON 1.1 protocol:
//! `POST /` with `X-Amz-Target: secretsmanager.{Action}`).

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use serde_json::Value;

use super::{AwsCredentialsChain, AwsError, AwsSecretsManagerSettings};
use crate::http::{HttpClient, SettingsError, is_transient};

const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// A signed client for the Secrets Manager API (the source reads with it;
/// tests and tools can create, put and delete secrets with it).
#[derive(Clone, Debug)]
pub struct SecretsManagerClient {
    http: HttpClient,
    /// `https://secretsmanager.{region}.amazonaws.com`, or the override; no trailing slash.
    endpoint: String,
    region: String,
    credentials: AwsCredentialsChain,
}

impl SecretsManagerClient {
    /// A client for `settings`' region and endpoint, signing with `credentials`.
    ///
    /// # Errors
    /// A [`SettingsError`] when no region is set or found, or the endpoint or
    /// CA file cannot be used.
    pub fn new(settings: &AwsSecretsManagerSettings, credentials: AwsCredentialsChain) -> Result<Self, SettingsError> {
        let region = settings
            .region
            .clone()
            .filter(|r| !r.is_empty())
            .or_else(|| credentials.region())
            .ok_or_else(|| {
                SettingsError::new(
                    "secrets.aws.region",
                    "not set, and neither AWS_REGION nor the profile's config names one",
                )
            })?;
        let endpoint = match settings.endpoint.as_deref().filter(|e| !e.is_empty()) {
            Some(endpoint) => {
                let url = url::Url::parse(endpoint).map_err(|e| {
                    SettingsError::new("secrets.aws.endpoint", format!("`{endpoint}` is not a URL: {e}"))
                })?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(SettingsError::new(
                        "secrets.aws.endpoint",
                        "must start with http:// or https://",
                    ));
                }
                endpoint.trim_end_matches('/').to_owned()
            }
            None => format!("https://secretsmanager.{region}.amazonaws.com"),
        };
        let http = HttpClient::new(settings.ca_file.as_deref(), settings.timeout, "secrets.aws.ca_file")?;
        Ok(Self {
            http,
            endpoint,
            region,
            credentials,
        })
    }

    /// The endpoint requests go to.
    #[must_use]
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The signing region.
    #[must_use]
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Calls `action` (`GetSecretValue`, `PutSecretValue`, …) with `body`, once.
    ///
    /// # Errors
    /// [`AwsError::Credentials`], [`AwsError::Signing`], [`AwsError::Transport`]
    /// when nothing answered, [`AwsError::Service`] for the service's error
    /// answers, [`AwsError::Unexpected`] for an answer that is not JSON.
    pub async fn call(&self, action: &str, body: &Value) -> Result<Value, AwsError> {
        let payload = serde_json::to_vec(body).map_err(|e| AwsError::Signing(e.to_string()))?;
        let url = format!("{}/", self.endpoint);
        let target = format!("secretsmanager.{action}");
        let headers = [("content-type", CONTENT_TYPE), ("x-amz-target", target.as_str())];
        let signed = self.sign(&url, &headers, &payload)?;
        let mut request = Request::post(&url);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        for (name, value) in signed {
            request = request.header(name, value);
        }
        let request = request
            .body(Full::new(Bytes::from(payload)))
            .map_err(|e| AwsError::Signing(e.to_string()))?;
        let answer = self.http.send(request).await.map_err(AwsError::Transport)?;
        let (status, bytes) = (answer.status, answer.body);
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| AwsError::Unexpected(format!("{action}: answer is not JSON: {e}")));
        }
        Err(service_error(action, status, &bytes))
    }

    /// The SigV4 headers (`authorization`, `x-amz-date`, the session token) for one request.
    fn sign(&self, url: &str, headers: &[(&str, &str)], payload: &[u8]) -> Result<Vec<(String, String)>, AwsError> {
        let credentials = self.credentials.resolve()?;
        let identity = Credentials::new(
            credentials.access_key_id,
            credentials.secret_access_key.expose(),
            credentials.session_token.map(|t| t.expose().to_owned()),
            None,
            "platform",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("secretsmanager")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| AwsError::Signing(e.to_string()))?
            .into();
        let signable = SignableRequest::new("POST", url, headers.iter().copied(), SignableBody::Bytes(payload))
            .map_err(|e| AwsError::Signing(e.to_string()))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| AwsError::Signing(e.to_string()))?
            .into_parts();
        Ok(instructions
            .headers()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect())
    }
}

/// The service's error answer: `{"__type": "…#ResourceNotFoundException", "message": "…"}`.
fn service_error(action: &str, status: StatusCode, bytes: &[u8]) -> AwsError {
    let body: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
    let code = body
        .get("__type")
        .and_then(Value::as_str)
        .map_or_else(
            || {
                if is_transient(status) {
                    "ServiceUnavailable"
                } else {
                    "Unknown"
                }
            },
            |t| t.rsplit('#').next().unwrap_or(t),
        )
        .to_owned();
    let message = ["message", "Message"]
        .iter()
        .find_map(|k| body.get(*k).and_then(Value::as_str))
        .unwrap_or_default()
        .to_owned();
    AwsError::Service {
        action: action.to_owned(),
        status: status.as_u16(),
        code,
        message,
    }
}
