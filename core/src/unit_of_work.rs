//! The unit of work every change runs in: open a transaction, run the
//! writes, commit on success, roll back on failure.

use platform_ports::StoreError;
use platform_ports::persistence::{Transaction, UnitOfWork};

/// Runs `work` in a new transaction of `uow`: commits when it returns `Ok`,
/// rolls back when it returns `Err`. `map_err` turns the store failures of
/// opening and committing into the module's own error type.
///
/// # Errors
/// The error of `work`, or the mapped failure to begin or to commit.
pub(crate) async fn run_in_unit<T, E>(
    uow: &dyn UnitOfWork,
    map_err: impl Fn(StoreError) -> E,
    work: impl AsyncFnOnce(&mut Transaction) -> Result<T, E>,
) -> Result<T, E> {
    let mut tx = uow.begin().await.map_err(&map_err)?;
    match work(&mut tx).await {
        Ok(value) => {
            tx.commit().await.map_err(map_err)?;
            Ok(value)
        }
        Err(err) => {
            // Dropping would roll back too; asking explicitly surfaces a
            // backend that cannot, without hiding the error that matters.
            if let Err(rollback) = tx.rollback().await {
                tracing::warn!(error = %rollback, "rollback failed");
            }
            Err(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::any::Any;

    use async_trait::async_trait;
    use platform_ports::persistence::{MockUnitOfWork, Tx};
    use platform_ports::testing::{FakeTx, TxOutcome};

    use super::*;

    /// The error type of a module, as `map_err` produces it.
    #[derive(Debug, PartialEq)]
    enum Failure {
        Store(String),
        Work,
    }

    fn store(err: StoreError) -> Failure {
        Failure::Store(err.to_string())
    }

    /// A unit of work whose transactions report to `tx`.
    fn opening(tx: &FakeTx) -> MockUnitOfWork {
        let tx = tx.clone();
        let mut uow = MockUnitOfWork::new();
        uow.expect_begin().returning(move || Ok(Transaction::new(tx.clone())));
        uow
    }

    /// A transaction whose backend refuses to commit or roll back.
    struct BrokenTx;

    #[async_trait]
    impl Tx for BrokenTx {
        async fn commit(self: Box<Self>) -> Result<(), StoreError> {
            Err(StoreError::Conflict("serialization".to_owned()))
        }

        async fn rollback(self: Box<Self>) -> Result<(), StoreError> {
            Err(StoreError::backend("connection lost"))
        }

        fn as_any_mut(&mut self) -> &mut (dyn Any + Send) {
            self
        }
    }

    fn broken() -> MockUnitOfWork {
        let mut uow = MockUnitOfWork::new();
        uow.expect_begin().returning(|| Ok(Transaction::new(BrokenTx)));
        uow
    }

    #[tokio::test]
    async fn success_commits_and_returns_the_value() {
        let tx = FakeTx::new();
        let result = run_in_unit(&opening(&tx), store, async |_| Ok(7)).await;
        assert_eq!(result, Ok(7));
        assert_eq!(tx.outcome(), TxOutcome::Committed);
    }

    #[tokio::test]
    async fn failure_rolls_back_and_returns_the_error() {
        let tx = FakeTx::new();
        let result: Result<(), _> = run_in_unit(&opening(&tx), store, async |_| Err(Failure::Work)).await;
        assert_eq!(result, Err(Failure::Work));
        assert_eq!(tx.outcome(), TxOutcome::RolledBack);
    }

    #[tokio::test]
    async fn a_failed_begin_is_mapped_and_runs_nothing() {
        let mut uow = MockUnitOfWork::new();
        uow.expect_begin()
            .returning(|| Err(StoreError::backend("pool exhausted")));
        let result: Result<(), _> = run_in_unit(&uow, store, async |_| panic!("ran without a transaction")).await;
        assert_eq!(result, Err(Failure::Store("storage backend failed".to_owned())));
    }

    #[tokio::test]
    async fn a_failed_commit_is_mapped() {
        let result = run_in_unit(&broken(), store, async |_| Ok(())).await;
        assert_eq!(result, Err(Failure::Store("conflict: serialization".to_owned())));
    }

    #[tokio::test]
    async fn a_failed_rollback_keeps_the_error_of_the_work() {
        let result: Result<(), _> = run_in_unit(&broken(), store, async |_| Err(Failure::Work)).await;
        assert_eq!(result, Err(Failure::Work));
    }
}
