//! [`StandardWebhookSender`]: signed POSTs following the Standard Webhooks
//! specification, behind the SSRF guard.

mod signature;
mod ssrf;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use platform_ports::notify::{NotifyError, WebhookFailure, WebhookRequest, WebhookResponse, WebhookSender};

use crate::http::{Auth, ClientOptions, body_excerpt, client, status_error, transport_error};
use ssrf::{PublicOnlyResolver, RefusedTarget, check_literal, resolve_public};

/// How webhooks are sent (`webhooks.*`).
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// Bound on one attempt, from connecting to the end of the answer's headers.
    pub timeout: Duration,
    /// Allow targets on loopback, private, link-local and other non-public
    /// addresses (tests, or receivers inside the same network). Off by default.
    pub allow_private_targets: bool,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            allow_private_targets: false,
        }
    }
}

/// A [`WebhookSender`] sending `webhook-id`, `webhook-timestamp` and
/// `webhook-signature: v1,<base64 HMAC-SHA256>` over `id.timestamp.body`.
///
/// Without `allow_private_targets`, a target whose host is, or resolves to,
/// a non-public address is refused for good, and the connection goes to the
/// address that was checked. 5xx, 408, 429, timeouts and connection errors
/// are transient; other answers outside 2xx are permanent. Redirects are not
/// followed (a 3xx is a permanent failure).
pub struct StandardWebhookSender {
    client: reqwest::Client,
    allow_private: bool,
}

impl StandardWebhookSender {
    /// A sender for `settings`.
    ///
    /// # Errors
    /// When the HTTP client cannot be built (the message says why).
    pub fn new(settings: &WebhookSettings) -> Result<Self, String> {
        let resolver = (!settings.allow_private_targets).then(|| Arc::new(PublicOnlyResolver) as _);
        let client = client(ClientOptions {
            timeout: settings.timeout,
            http2_only: false,
            resolver,
        })
        .map_err(|e| format!("webhooks: {e}"))?;
        Ok(Self {
            client,
            allow_private: settings.allow_private_targets,
        })
    }

    /// `url` parsed and checked for its scheme, and for an IP-literal host
    /// that is not public.
    fn target(&self, url: &str) -> Result<reqwest::Url, NotifyError> {
        let parsed = reqwest::Url::parse(url).map_err(|e| invalid(url, &e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(invalid(url, "only http and https targets are allowed"));
        }
        let host = parsed.host().ok_or_else(|| invalid(url, "no host"))?;
        if !self.allow_private {
            check_literal(&host).map_err(|e| invalid(url, &e.to_string()))?;
        }
        Ok(parsed)
    }
}

fn invalid(url: &str, reason: &str) -> NotifyError {
    NotifyError::Invalid(format!("`url` `{url}`: {reason}"))
}

/// The guard's refusal, if it is what made `err`.
fn refusal(err: &reqwest::Error) -> Option<&RefusedTarget> {
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<RefusedTarget>() {
            return Some(refused);
        }
        source = cause.source();
    }
    None
}

#[async_trait]
impl WebhookSender for StandardWebhookSender {
    async fn check_target(&self, url: &str) -> Result<(), NotifyError> {
        let parsed = self.target(url)?;
        if self.allow_private {
            return Ok(());
        }
        if let Some(url::Host::Domain(domain)) = parsed.host() {
            let port = parsed.port_or_known_default().unwrap_or(443);
            resolve_public(domain, port)
                .await
                .map_err(|e| invalid(url, &e.to_string()))?;
        }
        Ok(())
    }

    async fn deliver(&self, request: &WebhookRequest) -> Result<WebhookResponse, WebhookFailure> {
        let started = Instant::now();
        let fail = |status: Option<u16>, error: NotifyError| WebhookFailure {
            status,
            duration: started.elapsed(),
            error,
        };
        let url = self.target(&request.url).map_err(|e| fail(None, e))?;
        let timestamp = request.timestamp.timestamp();
        let mut post = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &request.message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .body(request.body.clone());
        if let Some(trace_parent) = &request.trace_parent {
            post = post.header("traceparent", trace_parent);
        }
        if !request.secrets.is_empty() {
            let secrets: Vec<&str> = request.secrets.iter().map(|s| s.expose()).collect();
            let header =
                signature::signature_header(&secrets, &request.message_id, timestamp, &request.body).map_err(|i| {
                    let error = NotifyError::Invalid(format!("webhook secret #{i} is not `whsec_<base64>`"));
                    fail(None, error)
                })?;
            post = post.header("webhook-signature", header);
        }
        let response = post.send().await.map_err(|err| {
            let error = match refusal(&err) {
                Some(refused) => invalid(&request.url, &refused.to_string()),
                None => transport_error("webhook", &err),
            };
            fail(None, error)
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(WebhookResponse {
                status: status.as_u16(),
                duration: started.elapsed(),
            });
        }
        let detail = body_excerpt(response, 512).await;
        let error = status_error("webhook", status, &detail, Auth::Theirs);
        Err(fail(Some(status.as_u16()), error))
    }
}
