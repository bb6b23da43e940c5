//! Where secrets come from (`secrets.*`). Built first, before the other
//! families: configuration loading applies its values as the last layer.
//!
//! `secrets.source` names one store or a list; they are read in order and a
//! key found in a later store replaces an earlier one's.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use platform_adapter_secrets::{
    AwsCredentialsChain, AwsSecret, AwsSecretsManagerSettings, AwsSecretsManagerSource, FileSecretSource, RetryPolicy,
    VaultAuth, VaultPath, VaultSecretSource, VaultSettings,
};
use platform_ports::model::SecretString;
use platform_ports::secrets::{SecretError, SecretSet, SecretSource};

use super::{Built, Parts, label_of};
use crate::config::{AwsConfig, ENV_PREFIX, SecretSourceKind, SecretsSettings, VaultConfig};

/// The configured stores, in the order they are read.
#[derive(Clone)]
pub struct SecretStores {
    stores: Vec<(SecretSourceKind, Arc<dyn SecretSource>)>,
    name: String,
}

/// The secret source port.
pub type SecretPort = SecretStores;

impl SecretStores {
    /// Reads `keys` from every store, in order: one set per store, labelled
    /// with its kind (`config check` reports `secrets:<kind>` per key).
    ///
    /// # Errors
    /// The first store's failure (naming the store and the key).
    pub async fn read_layers(&self, keys: &[&'static str]) -> Result<Vec<(SecretSourceKind, SecretSet)>, SecretError> {
        let mut layers = Vec::with_capacity(self.stores.len());
        for (kind, store) in &self.stores {
            layers.push((*kind, store.get_many(keys).await?));
        }
        Ok(layers)
    }

    /// The stores, each with its kind and its name (never a credential).
    pub fn names(&self) -> impl Iterator<Item = (SecretSourceKind, &str)> {
        self.stores.iter().map(|(kind, store)| (*kind, store.name()))
    }
}

#[async_trait]
impl SecretSource for SecretStores {
    fn name(&self) -> &str {
        &self.name
    }

    async fn get(&self, key: &str) -> Result<Option<SecretString>, SecretError> {
        let mut found = None;
        for (_, store) in &self.stores {
            if let Some(value) = store.get(key).await? {
                found = Some(value);
            }
        }
        Ok(found)
    }

    async fn get_many(&self, keys: &[&'static str]) -> Result<SecretSet, SecretError> {
        let mut merged = SecretSet::new();
        for (_, mut set) in self.read_layers(keys).await? {
            let found: Vec<String> = set.keys().map(str::to_owned).collect();
            for key in found {
                if let Some(value) = set.remove(&key) {
                    merged.insert(key, value);
                }
            }
        }
        Ok(merged)
    }
}

/// Builds the configured stores (nothing is read yet).
///
/// # Errors
/// A message naming the `secrets.*` key that cannot be used.
pub fn build(settings: &SecretsSettings) -> anyhow::Result<Built<SecretPort>> {
    let mut parts = Parts::default();
    let retry = RetryPolicy {
        attempts: settings.attempts.max(1),
        ..RetryPolicy::default()
    };
    let mut stores: Vec<(SecretSourceKind, Arc<dyn SecretSource>)> = Vec::new();
    let mut labels = Vec::new();
    for kind in &settings.source {
        let store: Arc<dyn SecretSource> = match kind {
            SecretSourceKind::Files => {
                let dir = Some(settings.dir.clone()).filter(|d| !d.is_empty()).map(Into::into);
                let store = FileSecretSource::new(dir).with_env_prefix(ENV_PREFIX);
                labels.push(label_of(&store));
                Arc::new(store)
            }
            SecretSourceKind::Vault => {
                let store = VaultSecretSource::new(vault_settings(&settings.vault, retry)?)?;
                labels.push(label_of(&store));
                parts.check("secrets.vault", Arc::new(store.health_checker()));
                Arc::new(store)
            }
            SecretSourceKind::Aws => {
                let (aws, chain) = aws_settings(&settings.aws, retry);
                let store = AwsSecretsManagerSource::new(aws, chain)?;
                labels.push(label_of(&store));
                parts.check("secrets.aws", Arc::new(store.health_checker()));
                Arc::new(store)
            }
        };
        stores.push((*kind, store));
    }
    if stores.is_empty() {
        anyhow::bail!("secrets.source: name at least one of files, vault, aws");
    }
    let label = match labels.as_slice() {
        [one] => one.clone(),
        many => format!("SecretStores({})", many.join(", ")),
    };
    parts.record("SecretSource", label);
    let name = stores.iter().map(|(_, s)| s.name()).collect::<Vec<_>>().join(" + ");
    Ok(Built {
        ports: SecretStores { stores, name },
        parts,
    })
}

/// `a=b` → (`a`, Some(`b`)); `a` → (`a`, None).
fn split_prefix(entry: &str, sep: char) -> (String, Option<String>) {
    match entry.split_once(sep) {
        Some((a, b)) if !b.trim().is_empty() => (a.trim().to_owned(), Some(b.trim().to_owned())),
        _ => (entry.trim().trim_end_matches(sep).to_owned(), None),
    }
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

fn vault_settings(c: &VaultConfig, retry: RetryPolicy) -> anyhow::Result<VaultSettings> {
    if c.address.is_empty() {
        anyhow::bail!("secrets.vault.address: required when secrets.source names vault");
    }
    let auth = match c.auth.as_str() {
        "" | "token" => {
            let token = if c.token.is_empty() {
                std::env::var("VAULT_TOKEN").map(SecretString::new).unwrap_or_default()
            } else {
                c.token.clone()
            };
            VaultAuth::Token(token)
        }
        "approle" => VaultAuth::AppRole {
            mount: non_empty(&c.approle_mount).unwrap_or_else(|| "approle".to_owned()),
            role_id: c.role_id.clone(),
            secret_id: c.secret_id.clone(),
        },
        other => anyhow::bail!("secrets.vault.auth: `{other}` is not token or approle"),
    };
    let mut settings = VaultSettings::new(c.address.clone(), auth);
    if !c.mount.is_empty() {
        settings.mount.clone_from(&c.mount);
    }
    settings.paths = c
        .paths
        .iter()
        .map(|entry| {
            let (path, prefix) = split_prefix(entry, '=');
            VaultPath { path, prefix }
        })
        .collect();
    settings.namespace = non_empty(&c.namespace);
    settings.ca_file = non_empty(&c.ca_file).map(PathBuf::from);
    settings.timeout = c.timeout;
    settings.retry = retry;
    Ok(settings)
}

fn aws_settings(c: &AwsConfig, retry: RetryPolicy) -> (AwsSecretsManagerSettings, AwsCredentialsChain) {
    let secrets = c
        .secrets
        .iter()
        .map(|entry| {
            let (rest, key) = split_prefix(entry, '#');
            let (id, prefix) = split_prefix(&rest, '=');
            AwsSecret { id, prefix, key }
        })
        .collect();
    let settings = AwsSecretsManagerSettings {
        region: non_empty(&c.region),
        endpoint: non_empty(&c.endpoint),
        secrets,
        version_stage: non_empty(&c.version_stage).unwrap_or_else(|| "AWSCURRENT".to_owned()),
        ca_file: non_empty(&c.ca_file).map(PathBuf::from),
        timeout: c.timeout,
        retry,
    };
    let chain = AwsCredentialsChain::from_env().with_profile(non_empty(&c.profile));
    (settings, chain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_split_into_id_prefix_and_key() {
        assert_eq!(
            split_prefix("platform/db=database", '='),
            ("platform/db".into(), Some("database".into()))
        );
        assert_eq!(split_prefix("platform/app", '='), ("platform/app".into(), None));
        let (aws, _) = aws_settings(
            &AwsConfig {
                secrets: vec!["app".into(), "db=database".into(), "jwt#auth.jwt.secret".into()],
                ..AwsConfig::default()
            },
            RetryPolicy::default(),
        );
        assert_eq!(aws.secrets[0], AwsSecret::new("app"));
        assert_eq!(aws.secrets[1].prefix.as_deref(), Some("database"));
        assert_eq!(aws.secrets[2].id, "jwt");
        assert_eq!(aws.secrets[2].key.as_deref(), Some("auth.jwt.secret"));
    }
}
