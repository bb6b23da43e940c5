//! Test doubles that mockall cannot generate (a [`Tx`] records its outcome).

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use async_trait::async_trait;

use crate::StoreError;
use crate::persistence::Tx;

/// How a [`FakeTx`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxOutcome {
    /// Still open, or dropped without an outcome.
    Open,
    /// Committed.
    Committed,
    /// Rolled back.
    RolledBack,
}

/// A transaction that does nothing but remember whether it was committed.
#[derive(Clone, Debug, Default)]
pub struct FakeTx {
    outcome: Arc<AtomicU8>,
}

impl FakeTx {
    /// A new open transaction.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// How it ended (shared by every clone).
    #[must_use]
    pub fn outcome(&self) -> TxOutcome {
        match self.outcome.load(Ordering::SeqCst) {
            1 => TxOutcome::Committed,
            2 => TxOutcome::RolledBack,
            _ => TxOutcome::Open,
        }
    }
}

#[async_trait]
impl Tx for FakeTx {
    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        self.outcome.store(1, Ordering::SeqCst);
        Ok(())
    }

    async fn rollback(self: Box<Self>) -> Result<(), StoreError> {
        self.outcome.store(2, Ordering::SeqCst);
        Ok(())
    }

    fn as_any_mut(&mut self) -> &mut (dyn Any + Send) {
        self
    }
}
