//! The Vault token: a fixed token (looked up once, renewed when renewable) or
//! an AppRole login, renewed at two thirds of its lease and logged in again
//! when renewal fails or the store says the token is no longer valid.

use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use platform_ports::model::SecretString;
use serde::Deserialize;
use tokio::sync::Mutex;

use super::api::VaultApi;
use crate::http::{Answer, is_transient};
use crate::retry::Failure;

/// How the source authenticates to Vault.
#[derive(Clone, Debug)]
pub enum VaultAuth {
    /// A token issued out of band (`VAULT_TOKEN`); renewed when it is renewable.
    Token(SecretString),
    /// AppRole login at `auth/{mount}/login`.
    AppRole {
        /// Where the AppRole method is mounted (`approle`).
        mount: String,
        /// The role id (not secret on its own).
        role_id: String,
        /// The secret id.
        secret_id: SecretString,
    },
}

/// A token's lease as Vault reported it.
#[derive(Clone, Copy, Debug)]
struct Lease {
    obtained: Instant,
    /// Zero for tokens that never expire (root, some service tokens).
    ttl: Duration,
    renewable: bool,
}

impl Lease {
    fn new(ttl_secs: u64, renewable: bool) -> Self {
        Self {
            obtained: Instant::now(),
            ttl: Duration::from_secs(ttl_secs),
            renewable,
        }
    }

    /// Renew at two thirds of the lease, like Vault Agent: late enough not to
    /// hammer the store, early enough to survive a slow renewal.
    fn due(&self) -> bool {
        !self.ttl.is_zero() && self.obtained.elapsed() >= self.ttl * 2 / 3
    }
}

#[derive(Default)]
struct Held {
    token: Option<SecretString>,
    lease: Option<Lease>,
}

/// Holds the current token and keeps it valid.
pub(crate) struct TokenKeeper {
    auth: VaultAuth,
    held: Mutex<Held>,
}

#[derive(Deserialize)]
struct AuthReply {
    auth: AuthBody,
}

#[derive(Deserialize)]
struct AuthBody {
    client_token: String,
    lease_duration: u64,
    renewable: bool,
}

#[derive(Deserialize)]
struct LookupReply {
    data: LookupBody,
}

#[derive(Deserialize)]
struct LookupBody {
    ttl: u64,
    #[serde(default)]
    renewable: bool,
}

impl TokenKeeper {
    pub(crate) fn new(auth: VaultAuth) -> Self {
        let held = match &auth {
            VaultAuth::Token(token) => Held {
                token: Some(token.clone()),
                lease: None,
            },
            VaultAuth::AppRole { .. } => Held::default(),
        };
        Self {
            auth,
            held: Mutex::new(held),
        }
    }

    /// A token that is valid now, logging in or renewing first when needed.
    pub(crate) async fn token(&self, api: &VaultApi) -> Result<SecretString, Failure> {
        // One caller at a time: concurrent reads share one login or renewal.
        let mut held = self.held.lock().await;
        if let (Some(token), Some(lease)) = (&held.token, held.lease)
            && lease.due()
        {
            let renewed = if lease.renewable {
                renew_self(api, token).await
            } else {
                Err(Failure::Unreadable("the token is not renewable".into()))
            };
            match renewed {
                Ok(lease) => held.lease = Some(lease),
                Err(err) => {
                    tracing::warn!(error = %err, "vault token renewal failed");
                    if matches!(self.auth, VaultAuth::AppRole { .. }) {
                        held.token = None;
                    } else {
                        // A fixed token cannot be replaced: keep using it until it expires.
                        held.lease = Some(Lease::new(0, false));
                    }
                }
            }
        }
        match (&self.auth, held.token.clone()) {
            (VaultAuth::Token(_), Some(token)) => {
                if held.lease.is_none() {
                    held.lease = Some(match lookup_self(api, &token).await {
                        Ok(lease) => lease,
                        // A token without `lookup-self` may still read secrets:
                        // the read says whether it is any good.
                        Err(Failure::Denied(_) | Failure::Unreadable(_)) => Lease::new(0, false),
                        Err(transient) => return Err(transient),
                    });
                }
                Ok(token)
            }
            (VaultAuth::AppRole { .. }, Some(token)) => Ok(token),
            (
                VaultAuth::AppRole {
                    mount,
                    role_id,
                    secret_id,
                },
                None,
            ) => {
                let (token, lease) = login(api, mount, role_id, secret_id).await?;
                held.token = Some(token.clone());
                held.lease = Some(lease);
                Ok(token)
            }
            (VaultAuth::Token(_), None) => Err(Failure::Denied("no vault token".into())),
        }
    }

    /// After a 403 for `token`: forgets it when a new one can be had (AppRole)
    /// and says whether another attempt makes sense.
    pub(crate) async fn refused(&self, token: &SecretString) -> bool {
        let mut held = self.held.lock().await;
        if !matches!(self.auth, VaultAuth::AppRole { .. }) {
            return false;
        }
        if held.token.as_ref() == Some(token) {
            held.token = None;
            held.lease = None;
        }
        true
    }
}

async fn login(
    api: &VaultApi,
    mount: &str,
    role_id: &str,
    secret_id: &SecretString,
) -> Result<(SecretString, Lease), Failure> {
    let body = serde_json::json!({ "role_id": role_id, "secret_id": secret_id.expose() });
    let answer = api
        .send(
            Method::POST,
            &format!("auth/{}/login", mount.trim_matches('/')),
            None,
            Some(&body),
        )
        .await?;
    let reply: AuthReply = parse(&answer, "AppRole login")?;
    tracing::debug!(ttl = reply.auth.lease_duration, "vault AppRole login");
    Ok((
        SecretString::new(reply.auth.client_token),
        Lease::new(reply.auth.lease_duration, reply.auth.renewable),
    ))
}

async fn renew_self(api: &VaultApi, token: &SecretString) -> Result<Lease, Failure> {
    let answer = api
        .send(
            Method::POST,
            "auth/token/renew-self",
            Some(token),
            Some(&serde_json::json!({})),
        )
        .await?;
    let reply: AuthReply = parse(&answer, "token renewal")?;
    tracing::debug!(ttl = reply.auth.lease_duration, "vault token renewed");
    Ok(Lease::new(reply.auth.lease_duration, reply.auth.renewable))
}

async fn lookup_self(api: &VaultApi, token: &SecretString) -> Result<Lease, Failure> {
    let answer = api
        .send(Method::GET, "auth/token/lookup-self", Some(token), None)
        .await?;
    let reply: LookupReply = parse(&answer, "token lookup")?;
    Ok(Lease::new(reply.data.ttl, reply.data.renewable))
}

/// A 2xx body as `T`; otherwise the failure its status means.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(answer: &Answer, what: &str) -> Result<T, Failure> {
    if answer.status.is_success() {
        return serde_json::from_slice(&answer.body)
            .map_err(|e| Failure::Unreadable(format!("{what}: unexpected answer: {e}").into()));
    }
    let text = answer.error_text(what);
    Err(match answer.status {
        StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED | StatusCode::BAD_REQUEST => Failure::Denied(text.into()),
        s if is_transient(s) => Failure::Transient(text.into()),
        _ => Failure::Unreadable(text.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_fall_due_at_two_thirds_and_never_when_unlimited() {
        let fresh = Lease::new(60, true);
        assert!(!fresh.due());
        let old = Lease {
            obtained: Instant::now() - Duration::from_secs(41),
            ..fresh
        };
        assert!(old.due());
        let unlimited = Lease {
            obtained: Instant::now() - Duration::from_secs(86_400),
            ..Lease::new(0, false)
        };
        assert!(!unlimited.due());
    }
}
