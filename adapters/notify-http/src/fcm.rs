//! [`FcmPushSender`]: push through Firebase Cloud Messaging's HTTP v1 API,
//! authorized by an OAuth2 access token the service account's key obtains.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use platform_ports::model::SecretString;
use platform_ports::notify::{NotifyError, PushPayload, PushSender};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::http::{Auth, ClientOptions, base_url, body_excerpt, client, status_error, transport_error};
use crate::token_cache::TokenCache;

/// The OAuth2 scope FCM sends need.
const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// A token is renewed this long before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(60);

/// FCM project and credentials (`push.fcm.*`).
#[derive(Clone, Debug)]
pub struct FcmSettings {
    /// The service account's JSON key file, as downloaded from the console.
    pub service_account_file: Option<PathBuf>,
    /// Or its content (from a secret source); used when no file is set.
    pub service_account_json: SecretString,
    /// The project id; empty: the key's `project_id`.
    pub project_id: String,
    /// FCM API base URL (a fake server in tests).
    pub base_url: String,
    /// Token endpoint; empty: the key's `token_uri`.
    pub token_url: String,
    /// Bound on a request.
    pub timeout: Duration,
}

impl Default for FcmSettings {
    fn default() -> Self {
        Self {
            service_account_file: None,
            service_account_json: SecretString::default(),
            project_id: String::new(),
            base_url: "https://fcm.googleapis.com".into(),
            token_url: String::new(),
            timeout: Duration::from_secs(10),
        }
    }
}

/// The fields of a service-account key that are used.
#[derive(Deserialize)]
struct ServiceAccount {
    client_email: String,
    private_key: String,
    #[serde(default)]
    private_key_id: String,
    #[serde(default)]
    project_id: String,
    #[serde(default)]
    token_uri: String,
}

#[derive(Serialize)]
struct GrantClaims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

/// A [`PushSender`] on FCM HTTP v1: `POST /v1/projects/{project}/messages:send`
/// with a bearer token from the JWT-bearer grant, cached until shortly
/// before it expires.
pub struct FcmPushSender {
    client: reqwest::Client,
    send_url: String,
    token_url: String,
    client_email: String,
    key_id: String,
    key: EncodingKey,
    token: TokenCache,
}

impl FcmPushSender {
    /// A sender for `settings`.
    ///
    /// # Errors
    /// A message naming the `push.fcm.*` key that is missing or wrong.
    pub fn new(settings: &FcmSettings) -> Result<Self, String> {
        let json = match &settings.service_account_file {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|e| format!("push.fcm.service_account_file: cannot read `{}`: {e}", path.display()))?,
            None if !settings.service_account_json.is_empty() => settings.service_account_json.expose().to_owned(),
            None => return Err("push.fcm.service_account_file: must be set (or push.fcm.service_account_json)".into()),
        };
        let account: ServiceAccount = serde_json::from_str(&json)
            .map_err(|e| format!("push.fcm.service_account_file: not a service-account key: {e}"))?;
        let key = EncodingKey::from_rsa_pem(account.private_key.as_bytes())
            .map_err(|e| format!("push.fcm.service_account_file: `private_key`: {e}"))?;
        let project = [settings.project_id.as_str(), account.project_id.as_str()]
            .into_iter()
            .find(|p| !p.trim().is_empty())
            .ok_or("push.fcm.project_id: must be set (the key names no project)")?;
        let token_url = [settings.token_url.as_str(), account.token_uri.as_str()]
            .into_iter()
            .find(|u| !u.trim().is_empty())
            .unwrap_or("https://oauth2.googleapis.com/token");
        let token_url = base_url("push.fcm.token_url", token_url)?;
        let base = base_url("push.fcm.base_url", &settings.base_url)?;
        let client = client(ClientOptions {
            timeout: settings.timeout,
            http2_only: false,
            resolver: None,
        })
        .map_err(|e| format!("push.fcm: {e}"))?;
        Ok(Self {
            client,
            send_url: format!("{base}/v1/projects/{project}/messages:send"),
            token_url,
            client_email: account.client_email,
            key_id: account.private_key_id,
            key,
            token: TokenCache::default(),
        })
    }

    /// A new access token and how long to keep it.
    async fn fetch_token(&self) -> Result<(String, Duration), NotifyError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let claims = GrantClaims {
            iss: &self.client_email,
            scope: SCOPE,
            aud: &self.token_url,
            iat: now,
            exp: now + 3600,
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = (!self.key_id.is_empty()).then(|| self.key_id.clone());
        let assertion = jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| NotifyError::Invalid(format!("push.fcm: cannot sign the token request: {e}")))?;
        let response = self
            .client
            .post(&self.token_url)
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", &assertion),
            ])
            .send()
            .await
            .map_err(|e| transport_error("fcm", &e))?;
        let status = response.status();
        if !status.is_success() {
            // A refused grant is our configuration: retried while an operator fixes it.
            let detail = format!("token endpoint: {}", body_excerpt(response, 512).await);
            return Err(status_error("fcm", status, &detail, Auth::Ours));
        }
        let answer: TokenAnswer = response.json().await.map_err(|e| transport_error("fcm", &e))?;
        let lifetime = Duration::from_secs(answer.expires_in).saturating_sub(RENEW_BEFORE);
        Ok((answer.access_token, lifetime))
    }
}

/// The FCM v1 message for one device.
fn message(device_token: &str, payload: &PushPayload) -> serde_json::Value {
    let mut message = json!({ "token": device_token });
    if !payload.is_silent() {
        message["notification"] = json!({ "title": payload.title, "body": payload.body });
    }
    if !payload.data.is_empty() {
        message["data"] = json!(payload.data);
    }
    json!({ "message": message })
}

#[async_trait]
impl PushSender for FcmPushSender {
    async fn send_push(&self, device_token: &str, payload: &PushPayload) -> Result<(), NotifyError> {
        if device_token.trim().is_empty() {
            return Err(NotifyError::Invalid("`device_token`: must not be empty".into()));
        }
        let token = self.token.get(|| self.fetch_token()).await?;
        let response = self
            .client
            .post(&self.send_url)
            .bearer_auth(token)
            .json(&message(device_token, payload))
            .send()
            .await
            .map_err(|e| transport_error("fcm", &e))?;
        let status = response.status();
        if status.is_success() {
            let answer: serde_json::Value = response.json().await.unwrap_or_default();
            tracing::info!(name = %answer["name"].as_str().unwrap_or_default(), "push accepted by FCM");
            return Ok(());
        }
        let excerpt = body_excerpt(response, 4096).await;
        let error: serde_json::Value = serde_json::from_str(&excerpt).unwrap_or_default();
        let error = &error["error"];
        // `details[].errorCode` is FCM's own reason (UNREGISTERED, SENDER_ID_MISMATCH...).
        let code = error["details"]
            .as_array()
            .and_then(|d| d.iter().find_map(|x| x["errorCode"].as_str()))
            .or_else(|| error["status"].as_str())
            .unwrap_or_default();
        let detail = format!("{code}: {}", error["message"].as_str().unwrap_or(&excerpt));
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            if code == "SENDER_ID_MISMATCH" {
                return Err(NotifyError::Rejected {
                    channel: "fcm",
                    reply: detail,
                });
            }
            // The token may have been revoked: the next attempt gets a new one.
            self.token.clear().await;
        }
        Err(status_error("fcm", status, &detail, Auth::Ours))
    }
}
