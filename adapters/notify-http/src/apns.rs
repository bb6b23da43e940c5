//! [`ApnsPushSender`]: push through Apple's HTTP/2 provider API with a token
//! signed by the team's `.p8` key (ES256).

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use platform_ports::model::SecretString;
use platform_ports::notify::{NotifyError, PushPayload, PushSender};
use reqwest::StatusCode;
use serde::Serialize;
use serde_json::json;

use crate::http::{Auth, ClientOptions, base_url, body_excerpt, client, required, status_error, transport_error};
use crate::token_cache::TokenCache;

/// Apple asks for a new provider token no more than every 20 minutes and no
/// less than every 60: renew after 40.
const TOKEN_LIFETIME: Duration = Duration::from_secs(40 * 60);

/// APNs team, key and app (`push.apns.*`).
#[derive(Clone, Debug)]
pub struct ApnsSettings {
    /// The `.p8` key file from the developer account.
    pub key_file: Option<PathBuf>,
    /// Or its PEM content (from a secret source); used when no file is set.
    pub key_pem: SecretString,
    /// The key's id (10 characters), the token's `kid`.
    pub key_id: String,
    /// The team id, the token's `iss`.
    pub team_id: String,
    /// The app's bundle id, sent as `apns-topic`.
    pub topic: String,
    /// `https://api.push.apple.com`, `https://api.sandbox.push.apple.com`, or a fake server.
    pub base_url: String,
    /// Bound on a request.
    pub timeout: Duration,
}

impl Default for ApnsSettings {
    fn default() -> Self {
        Self {
            key_file: None,
            key_pem: SecretString::default(),
            key_id: String::new(),
            team_id: String::new(),
            topic: String::new(),
            base_url: "https://api.push.apple.com".into(),
            timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Serialize)]
struct ProviderClaims<'a> {
    iss: &'a str,
    iat: u64,
}

/// A [`PushSender`] posting to `/3/device/{token}` over HTTP/2 with
/// `authorization: bearer <ES256 JWT>`, `apns-topic` and `apns-push-type`
/// (`alert`, or `background` for a payload with no title and body).
pub struct ApnsPushSender {
    client: reqwest::Client,
    base: String,
    topic: String,
    team_id: String,
    key_id: String,
    key: EncodingKey,
    token: TokenCache,
}

impl ApnsPushSender {
    /// A sender for `settings`.
    ///
    /// # Errors
    /// A message naming the `push.apns.*` key that is missing or wrong.
    pub fn new(settings: &ApnsSettings) -> Result<Self, String> {
        let pem = match &settings.key_file {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|e| format!("push.apns.key_file: cannot read `{}`: {e}", path.display()))?,
            None if !settings.key_pem.is_empty() => settings.key_pem.expose().to_owned(),
            None => return Err("push.apns.key_file: must be set (or push.apns.key_pem)".into()),
        };
        let key = EncodingKey::from_ec_pem(pem.as_bytes())
            .map_err(|e| format!("push.apns.key_file: not a P-256 `.p8` key: {e}"))?;
        required("push.apns.key_id", &settings.key_id)?;
        required("push.apns.team_id", &settings.team_id)?;
        required("push.apns.topic", &settings.topic)?;
        let base = base_url("push.apns.base_url", &settings.base_url)?;
        let client = client(ClientOptions {
            timeout: settings.timeout,
            http2_only: true,
            resolver: None,
        })
        .map_err(|e| format!("push.apns: {e}"))?;
        Ok(Self {
            client,
            base,
            topic: settings.topic.clone(),
            team_id: settings.team_id.clone(),
            key_id: settings.key_id.clone(),
            key,
            token: TokenCache::default(),
        })
    }

    /// A newly signed provider token and how long to use it.
    fn sign_token(&self) -> Result<(String, Duration), NotifyError> {
        let iat = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let mut header = Header::new(Algorithm::ES256);
        header.typ = None;
        header.kid = Some(self.key_id.clone());
        let claims = ProviderClaims {
            iss: &self.team_id,
            iat,
        };
        let token = jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| NotifyError::Invalid(format!("push.apns: cannot sign the provider token: {e}")))?;
        Ok((token, TOKEN_LIFETIME))
    }
}

/// The notification body: `aps` plus the custom keys beside it.
fn body(payload: &PushPayload) -> serde_json::Value {
    let aps = if payload.is_silent() {
        json!({ "content-available": 1 })
    } else {
        json!({ "alert": { "title": payload.title, "body": payload.body } })
    };
    let mut body = json!({ "aps": aps });
    for (key, value) in &payload.data {
        if key != "aps" {
            body[key] = json!(value);
        }
    }
    body
}

#[async_trait]
impl PushSender for ApnsPushSender {
    async fn send_push(&self, device_token: &str, payload: &PushPayload) -> Result<(), NotifyError> {
        if device_token.is_empty() || !device_token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(NotifyError::Invalid(format!(
                "`device_token`: `{device_token}` is not an APNs token (hex digits)"
            )));
        }
        let (push_type, priority) = if payload.is_silent() {
            ("background", "5")
        } else {
            ("alert", "10")
        };
        let token = self.token.get(|| async { self.sign_token() }).await?;
        let response = self
            .client
            .post(format!("{}/3/device/{device_token}", self.base))
            .header("authorization", format!("bearer {token}"))
            .header("apns-topic", &self.topic)
            .header("apns-push-type", push_type)
            .header("apns-priority", priority)
            .json(&body(payload))
            .send()
            .await
            .map_err(|e| transport_error("apns", &e))?;
        let status = response.status();
        if status.is_success() {
            let id = response
                .headers()
                .get("apns-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            tracing::info!(apns_id = %id, "push accepted by APNs");
            return Ok(());
        }
        // `{"reason": "BadDeviceToken"}`; 410 adds the time the token stopped being valid.
        let excerpt = body_excerpt(response, 1024).await;
        let answer: serde_json::Value = serde_json::from_str(&excerpt).unwrap_or_default();
        let reason = answer["reason"].as_str().unwrap_or(&excerpt).to_owned();
        if status == StatusCode::FORBIDDEN && reason.ends_with("ProviderToken") {
            // Expired or refused token: sign a new one on the next attempt.
            self.token.clear().await;
        }
        Err(status_error("apns", status, &reason, Auth::Ours))
    }
}
