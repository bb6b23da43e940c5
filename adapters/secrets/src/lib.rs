//! Secret sources behind the `SecretSource` port: files (`{dir}/{key}` and
//! `PLATFORM__…_FILE` variables), HashiCorp Vault / OpenBao KV v2 (token or
//! AppRole auth, renewed and re-logged in as needed) and AWS Secrets Manager
//! (SigV4-signed `GetSecretValue`, the standard credential chain).
//!
//! How a store's secrets map to configuration keys: every field of a Vault
//! path or of a JSON secret in Secrets Manager is a configuration key. A field
//! named `auth.jwt.secret` and a nested `{"auth": {"jwt": {"secret": …}}}` both
//! fill `auth.jwt.secret`; a location's `prefix` is put in front of its fields
//! (path `platform/db` with prefix `database` and field `dsn` fills
//! `database.dsn`); an AWS secret with a `key` is that one key, whole (plain
//! text or binary). When two locations hold the same key the later one wins.
//!
//! Reads retry with exponential backoff while the store is unreachable, then
//! fail with an error naming the store and the key; values stay in
//! `SecretString` and never reach `Debug` or a log line.

/// The port for a remote store whose `read_keys` reads every configured
/// location once and whose `inner.name` names it.
macro_rules! remote_source {
    ($source:ty) => {
        #[async_trait::async_trait]
        impl platform_ports::secrets::SecretSource for $source {
            fn name(&self) -> &str {
                &self.inner.name
            }

            async fn get(
                &self,
                key: &str,
            ) -> Result<Option<platform_ports::model::SecretString>, platform_ports::secrets::SecretError> {
                Ok(self.read_keys(&[key]).await?.remove(key).map(|s| s.value))
            }

            async fn get_many(
                &self,
                keys: &[&'static str],
            ) -> Result<platform_ports::secrets::SecretSet, platform_ports::secrets::SecretError> {
                self.read_keys(keys).await
            }
        }
    };
}
pub(crate) use remote_source;

mod aws;
mod files;
mod flatten;
mod http;
mod retry;
mod vault;

pub use aws::{
    AwsCredentials, AwsCredentialsChain, AwsError, AwsSecret, AwsSecretsManagerHealthChecker,
    AwsSecretsManagerSettings, AwsSecretsManagerSource, SecretsManagerClient,
};
pub use files::FileSecretSource;
pub use http::{SettingsError, TransportError};
pub use retry::RetryPolicy;
pub use vault::{VaultAuth, VaultHealthChecker, VaultPath, VaultSecretSource, VaultSettings};
