//! Where secrets come from (env, files; Vault and AWS Secrets Manager later).

use async_trait::async_trait;
use shaku::Interface;

use crate::BoxError;
use crate::model::SecretString;

/// What a secret source can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The secret exists but cannot be read (permissions, encoding).
    #[error("secret `{name}` cannot be read")]
    Unreadable {
        /// The secret's name.
        name: String,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// The backend failed.
    #[error("secret backend failed")]
    Backend(#[source] BoxError),
}

/// Resolves named secrets; the name is a configuration key (`auth.jwt.secret`).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait SecretSource: Interface {
    /// The secret, `None` when this source does not have it.
    ///
    /// # Errors
    /// [`SecretError::Unreadable`], [`SecretError::Backend`].
    async fn get(&self, name: &str) -> Result<Option<SecretString>, SecretError>;
}
