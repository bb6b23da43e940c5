//! [`TwilioSmsSender`]: SMS through Twilio's Messages API.

use std::time::Duration;

use async_trait::async_trait;
use platform_ports::model::SecretString;
use platform_ports::notify::{NotifyError, SmsSender};

use crate::http::{Auth, ClientOptions, base_url, body_excerpt, client, required, status_error, transport_error};

/// Twilio account and sender (`sms.twilio.*`).
#[derive(Clone, Debug)]
pub struct TwilioSettings {
    /// Account SID (`AC...`), also the basic-auth user.
    pub account_sid: String,
    /// Auth token, the basic-auth password.
    pub auth_token: SecretString,
    /// Sender number (E.164) or alphanumeric sender id; empty when a messaging service sends.
    pub from: String,
    /// Messaging service SID (`MG...`), used instead of `from` when set.
    pub messaging_service_sid: String,
    /// API base URL (a fake server in tests).
    pub base_url: String,
    /// Bound on a request.
    pub timeout: Duration,
}

impl Default for TwilioSettings {
    fn default() -> Self {
        Self {
            account_sid: String::new(),
            auth_token: SecretString::default(),
            from: String::new(),
            messaging_service_sid: String::new(),
            base_url: "https://api.twilio.com".into(),
            timeout: Duration::from_secs(10),
        }
    }
}

/// An [`SmsSender`] posting to `POST /2010-04-01/Accounts/{sid}/Messages.json`
/// (form fields `To`, `Body`, and `From` or `MessagingServiceSid`; basic auth).
pub struct TwilioSmsSender {
    client: reqwest::Client,
    url: String,
    settings: TwilioSettings,
}

impl TwilioSmsSender {
    /// A sender for `settings`.
    ///
    /// # Errors
    /// A message naming the `sms.twilio.*` key that is missing or wrong.
    pub fn new(settings: &TwilioSettings) -> Result<Self, String> {
        required("sms.twilio.account_sid", &settings.account_sid)?;
        required("sms.twilio.auth_token", settings.auth_token.expose())?;
        if settings.from.trim().is_empty() && settings.messaging_service_sid.trim().is_empty() {
            return Err("sms.twilio.from: set it or sms.twilio.messaging_service_sid".into());
        }
        let base = base_url("sms.twilio.base_url", &settings.base_url)?;
        let client = client(ClientOptions {
            timeout: settings.timeout,
            http2_only: false,
            resolver: None,
        })
        .map_err(|e| format!("sms.twilio: {e}"))?;
        Ok(Self {
            client,
            url: format!("{base}/2010-04-01/Accounts/{}/Messages.json", settings.account_sid),
            settings: settings.clone(),
        })
    }
}

/// E.164: `+`, then 8 to 15 digits.
fn is_e164(number: &str) -> bool {
    number
        .strip_prefix('+')
        .is_some_and(|digits| (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
}

#[async_trait]
impl SmsSender for TwilioSmsSender {
    async fn send_sms(&self, to: &str, body: &str) -> Result<(), NotifyError> {
        if !is_e164(to) {
            return Err(NotifyError::Invalid(format!(
                "`to`: `{to}` is not an E.164 number like +15551234567"
            )));
        }
        if body.is_empty() {
            return Err(NotifyError::Invalid("`body`: an SMS needs text".into()));
        }
        let sender = if self.settings.messaging_service_sid.is_empty() {
            ("From", self.settings.from.as_str())
        } else {
            ("MessagingServiceSid", self.settings.messaging_service_sid.as_str())
        };
        let response = self
            .client
            .post(&self.url)
            .basic_auth(&self.settings.account_sid, Some(self.settings.auth_token.expose()))
            .form(&[("To", to), ("Body", body), sender])
            .send()
            .await
            .map_err(|e| transport_error("twilio", &e))?;
        let status = response.status();
        if status.is_success() {
            let answer: serde_json::Value = response.json().await.unwrap_or_default();
            tracing::info!(sid = %answer["sid"].as_str().unwrap_or_default(), "SMS accepted by Twilio");
            return Ok(());
        }
        // `{"code": 21211, "message": "The 'To' number ... is not a valid phone number.", ...}`
        let excerpt = body_excerpt(response, 2048).await;
        let detail = match serde_json::from_str::<serde_json::Value>(&excerpt) {
            Ok(error) => format!(
                "{} {}",
                error["code"].as_i64().map(|c| c.to_string()).unwrap_or_default(),
                error["message"].as_str().unwrap_or(&excerpt)
            )
            .trim()
            .to_owned(),
            Err(_) => excerpt,
        };
        Err(status_error("twilio", status, &detail, Auth::Ours))
    }
}
