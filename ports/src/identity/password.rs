//! Password hashing.

use async_trait::async_trait;
use shaku::Interface;

use crate::BoxError;
use crate::identity::PasswordHash;
use crate::model::SecretString;

/// What hashing can fail with.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The stored hash is not a PHC string this hasher understands.
    #[error("malformed password hash")]
    Malformed,
    /// The hashing pool is saturated or gone.
    #[error("password hashing unavailable")]
    Unavailable(#[source] BoxError),
}

/// Hashes and verifies passwords (argon2id) on a bounded blocking pool.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Interface {
    /// Hashes a password with a fresh salt into a PHC string.
    ///
    /// # Errors
    /// [`HashError::Unavailable`].
    async fn hash(&self, password: &SecretString) -> Result<PasswordHash, HashError>;

    /// Whether `password` matches `hash` (constant time).
    ///
    /// # Errors
    /// [`HashError::Malformed`], [`HashError::Unavailable`].
    async fn verify(&self, password: &SecretString, hash: &PasswordHash) -> Result<bool, HashError>;

    /// Spends the time of a verification without a stored hash, so an unknown
    /// account takes as long to refuse as a wrong password.
    ///
    /// # Errors
    /// [`HashError::Unavailable`].
    async fn verify_dummy(&self, password: &SecretString) -> Result<(), HashError>;
}
