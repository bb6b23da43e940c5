//! Errors shared by the persistence ports.

/// A boxed error from a backend, carried as the source of a typed error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a repository, the unit of work or the outbox can fail with.
///
/// All persistence ports share this enum: their failures have the same
/// meaning (a row is missing, a uniqueness rule was hit, the backend failed)
/// and the use cases map them the same way.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row the operation needed does not exist (in the caller's tenant).
    #[error("not found")]
    NotFound,
    /// A uniqueness or state rule refused the write; names the rule.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The backend refused a value the caller supplied (PostgreSQL's data
    /// exceptions and its non-unique constraint violations): a fault of the
    /// request, reported as a 4xx, never as the backend being unavailable.
    /// Names what was refused.
    #[error("invalid value: {0}")]
    Invalid(String),
    /// The backend failed (connection, query, serialization...).
    #[error("storage backend failed")]
    Backend(#[source] BoxError),
}

impl StoreError {
    /// Wraps any backend error.
    pub fn backend(err: impl Into<BoxError>) -> Self {
        Self::Backend(err.into())
    }
}
