//! Runs the file metadata contract against PostgreSQL, each check in a
//! schema of its own that is dropped afterwards.

mod support;

use std::sync::Arc;

use platform_adapter_postgres::{PgFileRepository, PgUnitOfWork};
use platform_contract::files;

macro_rules! contract_tests {
    ($($check:ident;)+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let Some(schema) = support::TestSchema::create().await else {
                    return;
                };
                files::$check(
                    Arc::new(PgFileRepository::new(schema.db.clone())),
                    Arc::new(PgUnitOfWork::new(schema.db.clone())),
                )
                .await;
            }
        )+
    };
}

contract_tests! {
    file_crud;
    files_isolated_by_tenant;
    attached_files_listed_and_deleted_together;
}
