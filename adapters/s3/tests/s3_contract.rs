//! The `BlobStore` contract against a real S3 server that checks SigV4
//! signatures (SeaweedFS from `.ci/services/s3.sh`; `PLATFORM_TEST_S3_ENDPOINT`),
//! each check on its own bucket, deleted afterwards. The multipart threshold
//! is S3's minimum (5 MiB), and the "large" object is above two parts.
//!
//! Without a reachable server each test prints a loud SKIPPED notice, or
//! fails when `CI=true`.

#![allow(clippy::unwrap_used, reason = "test code: a failed unwrap is a failed test")]

mod common;

use std::sync::Arc;

use platform_contract::blob::{self, BlobContract};

const LARGE: usize = 2 * 5 * 1024 * 1024 + 12_345;

macro_rules! s3_contract {
    ($($check:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let Some(store) = common::fresh_store(stringify!($check)).await else { return };
                let contract = BlobContract {
                    store: Arc::new(store.clone()),
                    prefix: format!("contract/{}", stringify!($check)),
                    large_size: LARGE,
                };
                blob::$check(contract.clone()).await;
                contract.assert_empty().await;
                common::drop_bucket(&store).await;
            }
        )+
    };
}

platform_contract::for_each_blob_check!(s3_contract);
