//! HashiCorp Vault / OpenBao KV v2 as a secret source.

mod api;
mod auth;
mod health;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, StatusCode};
use platform_ports::secrets::{SecretError, SecretSet};
use serde::Deserialize;

use self::api::VaultApi;
use self::auth::TokenKeeper;
pub use self::auth::VaultAuth;
pub use self::health::VaultHealthChecker;
use crate::flatten::insert_wanted;
use crate::http::{HttpClient, SettingsError, is_transient};
use crate::retry::{Failure, RetryPolicy, retry};

/// One KV v2 secret path and how its fields become configuration keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VaultPath {
    /// The path under the mount (`platform/prod`), without `data/`.
    pub path: String,
    /// Put in front of every field (`database` + `dsn` → `database.dsn`).
    pub prefix: Option<String>,
}

impl VaultPath {
    /// A path whose field names are the configuration keys.
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            prefix: None,
        }
    }
}

/// Where the Vault source reads and how it logs in (`secrets.vault.*`).
#[derive(Clone, Debug)]
pub struct VaultSettings {
    /// `https://vault.internal:8200`.
    pub address: String,
    /// The KV v2 mount (`secret`).
    pub mount: String,
    /// The paths read, in order; a later path's key wins.
    pub paths: Vec<VaultPath>,
    /// Vault Enterprise / HCP namespace, sent as `X-Vault-Namespace`.
    pub namespace: Option<String>,
    /// Token or AppRole.
    pub auth: VaultAuth,
    /// PEM file with the CA that signed Vault's certificate (besides Mozilla's roots).
    pub ca_file: Option<PathBuf>,
    /// Bound on each request.
    pub timeout: Duration,
    /// Retry while Vault does not answer.
    pub retry: RetryPolicy,
}

impl VaultSettings {
    /// Settings for `address` with `auth`, the `secret` mount, no path yet,
    /// a 5 s timeout and the default retry.
    pub fn new(address: impl Into<String>, auth: VaultAuth) -> Self {
        Self {
            address: address.into(),
            mount: "secret".to_owned(),
            paths: Vec::new(),
            namespace: None,
            auth,
            ca_file: None,
            timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
        }
    }
}

/// Reads configuration keys from KV v2 paths. Clones share the token.
#[derive(Clone)]
pub struct VaultSecretSource {
    inner: Arc<Inner>,
}

struct Inner {
    api: VaultApi,
    keeper: TokenKeeper,
    mount: String,
    paths: Vec<VaultPath>,
    retry: RetryPolicy,
    name: String,
}

impl fmt::Debug for VaultSecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultSecretSource")
            .field("name", &self.inner.name)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct KvReply {
    data: KvBody,
}

#[derive(Deserialize)]
struct KvBody {
    /// Null when the current version was deleted.
    data: Option<serde_json::Map<String, serde_json::Value>>,
    metadata: KvMetadata,
}

#[derive(Deserialize)]
struct KvMetadata {
    version: u64,
}

impl VaultSecretSource {
    /// A source over `settings`; nothing is sent until the first read.
    ///
    /// # Errors
    /// A [`SettingsError`] naming the `secrets.vault.*` key that cannot be used.
    pub fn new(settings: VaultSettings) -> Result<Self, SettingsError> {
        let address = settings.address.trim_end_matches('/').to_owned();
        let url = url::Url::parse(&address)
            .map_err(|e| SettingsError::new("secrets.vault.address", format!("`{address}` is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(SettingsError::new(
                "secrets.vault.address",
                "must start with http:// or https://",
            ));
        }
        let mount = settings.mount.trim_matches('/').to_owned();
        if mount.is_empty() {
            return Err(SettingsError::new("secrets.vault.mount", "must not be empty"));
        }
        if settings.paths.is_empty() {
            return Err(SettingsError::new("secrets.vault.paths", "name at least one path"));
        }
        if let Some(empty) = settings.paths.iter().position(|p| p.path.trim_matches('/').is_empty()) {
            return Err(SettingsError::new(
                format!("secrets.vault.paths[{empty}]"),
                "must not be empty",
            ));
        }
        if let VaultAuth::Token(token) = &settings.auth
            && token.is_empty()
        {
            return Err(SettingsError::new("secrets.vault.token", "must be set for token auth"));
        }
        let http = HttpClient::new(settings.ca_file.as_deref(), settings.timeout, "secrets.vault.ca_file")?;
        let paths: Vec<String> = settings
            .paths
            .iter()
            .map(|p| p.path.trim_matches('/').to_owned())
            .collect();
        let name = format!("vault {address} {mount}/{}", paths.join(","));
        Ok(Self {
            inner: Arc::new(Inner {
                api: VaultApi {
                    http,
                    address,
                    namespace: settings.namespace.filter(|n| !n.is_empty()),
                },
                keeper: TokenKeeper::new(settings.auth),
                mount,
                paths: settings
                    .paths
                    .into_iter()
                    .zip(paths)
                    .map(|(p, path)| VaultPath { path, prefix: p.prefix })
                    .collect(),
                retry: settings.retry,
                name,
            }),
        })
    }

    /// A health checker for this store (shares the token).
    #[must_use]
    pub fn health_checker(&self) -> VaultHealthChecker {
        VaultHealthChecker::new(self.clone())
    }

    /// One attempt at reading a path: its fields and version, `None` when absent.
    async fn read_once(
        &self,
        path: &str,
    ) -> Result<Option<(serde_json::Map<String, serde_json::Value>, u64)>, Failure> {
        let inner = &self.inner;
        let route = format!("{}/data/{path}", inner.mount);
        // A 403 on an AppRole token (revoked, expired early) earns one fresh login.
        for _ in 0..2 {
            let token = inner.keeper.token(&inner.api).await?;
            let answer = inner.api.send(Method::GET, &route, Some(&token), None).await?;
            match answer.status {
                StatusCode::OK => {
                    let reply: KvReply = serde_json::from_slice(&answer.body)
                        .map_err(|e| Failure::Unreadable(format!("{route}: not a KV v2 answer: {e}").into()))?;
                    return Ok(reply.data.data.map(|fields| (fields, reply.data.metadata.version)));
                }
                StatusCode::NOT_FOUND => return Ok(None),
                StatusCode::FORBIDDEN if inner.keeper.refused(&token).await => {}
                StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED => {
                    return Err(Failure::Denied(answer.error_text(&route).into()));
                }
                s if is_transient(s) => return Err(Failure::Transient(answer.error_text(&route).into())),
                _ => return Err(Failure::Unreadable(answer.error_text(&route).into())),
            }
        }
        Err(Failure::Denied(
            format!("{route}: refused again after a fresh login").into(),
        ))
    }

    /// Reads `path` with the retry; errors name `key`.
    async fn read(
        &self,
        path: &str,
        key: &str,
    ) -> Result<Option<(serde_json::Map<String, serde_json::Value>, u64)>, SecretError> {
        retry(self.inner.retry, || self.read_once(path))
            .await
            .map_err(|(failure, attempts)| failure.into_secret_error(&self.inner.name, key, attempts))
    }

    /// Checks the token (logging in or renewing as needed), without the retry.
    pub(crate) async fn token_ok(&self) -> Result<(), Failure> {
        self.inner.keeper.token(&self.inner.api).await.map(|_| ())
    }

    pub(crate) fn api(&self) -> &VaultApi {
        &self.inner.api
    }
}

crate::remote_source!(VaultSecretSource);

impl VaultSecretSource {
    /// Every key of `keys` found in the configured locations, later locations winning.
    async fn read_keys(&self, keys: &[&str]) -> Result<SecretSet, SecretError> {
        let mut set = SecretSet::new();
        let Some(first) = keys.first() else {
            return Ok(set);
        };
        for location in &self.inner.paths {
            let Some((fields, version)) = self.read(&location.path, first).await? else {
                tracing::debug!(store = %self.inner.name, path = %location.path, "vault path absent");
                continue;
            };
            let version = format!("{}/{}@v{version}", self.inner.mount, location.path);
            insert_wanted(&mut set, keys, location.prefix.as_deref(), &fields, Some(&version));
        }
        Ok(set)
    }
}
