use std::net::IpAddr;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shaku::Interface;

/// An action whose attempts are limited per client address and per account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitedAction {
    /// `POST auth/login`.
    Login,
    /// `POST auth/refresh`.
    Refresh,
    /// `POST auth/register`.
    Register,
    /// `POST auth/password/forgot` and `auth/password/reset`.
    PasswordReset,
    /// A request with an API key that did not authenticate (only failures count).
    ApiKey,
}

impl LimitedAction {
    /// The name used in cache keys and configuration.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Refresh => "refresh",
            Self::Register => "register",
            Self::PasswordReset => "password_reset",
            Self::ApiKey => "api_key",
        }
    }
}

/// Refusal: too many attempts in the current window.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("rate limited; retry after {retry_after:?}")]
pub struct RateLimited {
    /// When the window ends.
    pub retry_after: Duration,
}

/// Counts attempts in fixed windows (`ratelimit:{key}:{action}` in the cache,
/// shared across instances when the cache is Redis).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait RateLimiter: Interface {
    /// Counts one attempt of `action` by `client_ip` and, when known, for
    /// `account` (a normalized email or a token family); refuses when either
    /// is over its limit. A failing counter store lets the attempt through
    /// (and logs): availability over strictness.
    ///
    /// # Errors
    /// [`RateLimited`] with the time until the window ends.
    async fn check(
        &self,
        action: LimitedAction,
        client_ip: Option<IpAddr>,
        account: Option<String>,
    ) -> Result<(), RateLimited>;
}
