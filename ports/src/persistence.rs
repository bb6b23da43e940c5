//! Persistence: the unit of work and its transaction.
//!
//! Repositories live with their module (`identity::UserRepository`,
//! `blog::PostRepository`). Reads run outside a transaction and take the
//! caller's tenant explicitly, so no adapter can forget the tenant filter.
//! Writes take the open [`Transaction`] of the use case's unit of work, so
//! domain rows, audit entries and outbox events commit together or not at all.

use std::any::Any;

use async_trait::async_trait;
use shaku::Interface;

use crate::StoreError;

/// An open transaction of one unit of work.
///
/// Repositories of the same adapter recognise their own transaction through
/// [`Tx::as_any_mut`]; handing a repository another adapter's transaction is a
/// wiring bug and fails with [`StoreError::Backend`]. Dropping a `Tx` without
/// committing rolls it back.
#[async_trait]
pub trait Tx: Send {
    /// Makes every write of the unit of work durable and visible.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when a concurrent change forbids the commit,
    /// [`StoreError::Backend`] when the backend fails; nothing is applied then.
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;

    /// Discards every write of the unit of work.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails to roll back (the writes
    /// are discarded anyway when the connection closes).
    async fn rollback(self: Box<Self>) -> Result<(), StoreError>;

    /// The adapter's concrete transaction, for its repositories to downcast.
    fn as_any_mut(&mut self) -> &mut (dyn Any + Send);
}

/// The open transaction of a unit of work, as use cases hold it.
///
/// A concrete type (not `dyn Tx`) so repository methods stay mockable.
pub struct Transaction {
    inner: Box<dyn Tx>,
}

impl Transaction {
    /// Wraps an adapter's transaction.
    pub fn new(tx: impl Tx + 'static) -> Self {
        Self { inner: Box::new(tx) }
    }

    /// Commits (see [`Tx::commit`]).
    ///
    /// # Errors
    /// As [`Tx::commit`].
    pub async fn commit(self) -> Result<(), StoreError> {
        self.inner.commit().await
    }

    /// Rolls back (see [`Tx::rollback`]).
    ///
    /// # Errors
    /// As [`Tx::rollback`].
    pub async fn rollback(self) -> Result<(), StoreError> {
        self.inner.rollback().await
    }

    /// The adapter's concrete transaction.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the transaction belongs to another adapter.
    pub fn downcast_mut<T: Any + Send>(&mut self) -> Result<&mut T, StoreError> {
        self.inner.as_any_mut().downcast_mut::<T>().ok_or_else(|| {
            StoreError::backend(format!(
                "transaction is not a {} (repositories and unit of work come from different adapters)",
                std::any::type_name::<T>()
            ))
        })
    }
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Transaction")
    }
}

/// Starts units of work (the seed's transaction support).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait UnitOfWork: Interface {
    /// Opens a transaction.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when no connection can be had.
    async fn begin(&self) -> Result<Transaction, StoreError>;
}
