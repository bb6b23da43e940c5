//! The processed-events contract on PostgreSQL, each check in its own schema.

use std::sync::Arc;

use platform_adapter_postgres::{PgProcessedEvents, PgUnitOfWork};
use platform_contract::events::processed;

use crate::support::TestSchema;

/// One test per check, each on a fresh schema.
macro_rules! processed_contract {
    ($($check:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let Some(schema) = TestSchema::create().await else {
                    return;
                };
                let uow = Arc::new(PgUnitOfWork::new(schema.db.clone()));
                let record = Arc::new(PgProcessedEvents::new(schema.db.clone()));
                processed::$check(uow, record).await;
            }
        )+
    };
}

processed_contract!(
    processed_record_is_new_once_per_subscriber,
    processed_record_rolls_back_with_its_unit_of_work,
    processed_record_settles_concurrent_duplicates,
    processed_purge_forgets_old_records,
);
