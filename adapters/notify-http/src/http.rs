//! What every channel shares: a reqwest client on rustls with ring, and the
//! mapping of HTTP answers and transport errors to permanent or transient
//! failures.

use std::sync::Arc;
use std::time::Duration;

use platform_ports::notify::NotifyError;
use reqwest::StatusCode;
use reqwest::dns::Resolve;

/// How a channel's client is built.
pub(crate) struct ClientOptions {
    /// Bound on a whole request.
    pub(crate) timeout: Duration,
    /// HTTP/2 only (APNs requires it): ALPN `h2` on `https://`, prior knowledge on `http://`.
    pub(crate) http2_only: bool,
    /// A resolver that vets addresses (the webhook SSRF guard); with it no
    /// proxy from the environment is used, since a proxy resolves names we never see.
    pub(crate) resolver: Option<Arc<dyn Resolve>>,
}

/// A client on rustls with ring and the Mozilla roots (reqwest's
/// `rustls-tls`) that follows no redirect (it would leave the vetted target).
pub(crate) fn client(options: ClientOptions) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .timeout(options.timeout)
        .connect_timeout(options.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("platform-notify/", env!("CARGO_PKG_VERSION")));
    if options.http2_only {
        builder = builder.http2_prior_knowledge();
    }
    if let Some(resolver) = options.resolver {
        builder = builder.dns_resolver2(resolver).no_proxy();
    }
    builder.build().map_err(|e| e.to_string())
}

/// Who a 401/403 answer is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Auth {
    /// Our credentials (a provider's API): fixable by an operator, so retried.
    Ours,
    /// The receiver's own decision (a webhook target): permanent like other 4xx.
    Theirs,
}

/// 5xx, 408 and 429 may pass; other 4xx will not (but see [`Auth`]).
pub(crate) fn status_error(channel: &'static str, status: StatusCode, detail: &str, auth: Auth) -> NotifyError {
    let text = if detail.is_empty() {
        status.to_string()
    } else {
        format!("{}: {detail}", status.as_u16())
    };
    let ours = auth == Auth::Ours && matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN);
    if ours || is_retryable(status) {
        NotifyError::Unavailable { channel, reason: text }
    } else {
        NotifyError::Rejected { channel, reply: text }
    }
}

/// 5xx, 408 Request Timeout and 429 Too Many Requests.
pub(crate) fn is_retryable(status: StatusCode) -> bool {
    status.is_server_error() || matches!(status, StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS)
}

/// A timeout, a refused connection, a TLS failure: transient.
pub(crate) fn transport_error(channel: &'static str, err: &reqwest::Error) -> NotifyError {
    NotifyError::Unavailable {
        channel,
        reason: chain(err),
    }
}

/// An error and its causes on one line.
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

/// At most `limit` bytes of an answer's body, as text (error details only).
pub(crate) async fn body_excerpt(mut response: reqwest::Response, limit: usize) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(limit);
    String::from_utf8_lossy(&bytes).trim().to_owned()
}

/// A required setting, or an error naming its key.
pub(crate) fn required(key: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        Err(format!("{key}: must be set"))
    } else {
        Ok(())
    }
}

/// `base_url` without its trailing slash, checked to be http(s).
pub(crate) fn base_url(key: &str, value: &str) -> Result<String, String> {
    let trimmed = value.trim().trim_end_matches('/');
    match reqwest::Url::parse(trimmed) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(trimmed.to_owned()),
        _ => Err(format!("{key}: `{value}` is not an http(s) URL")),
    }
}
