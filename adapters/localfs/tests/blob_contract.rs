//! The `BlobStore` contract on the local file system, each check in its own
//! temporary root, with presigned URLs served the way the HTTP adapter will.

#![allow(clippy::unwrap_used, reason = "test code: a failed unwrap is a failed test")]

mod signed_server;

use platform_adapter_localfs::{LocalBlobSettings, LocalBlobStore};
use platform_contract::blob::{self, BlobContract};
use platform_ports::model::SecretString;

/// No multipart here; "large" is still several write buffers and read chunks.
const LARGE: usize = 3 * 1024 * 1024 + 17;

macro_rules! local_contract {
    ($($check:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let root = tempfile::tempdir().unwrap();
                let store = signed_server::start(|origin| {
                    LocalBlobStore::new(LocalBlobSettings {
                        root: root.path().to_path_buf(),
                        public_base_url: origin,
                        signing_key: SecretString::new("contract-signing-key"),
                    })
                })
                .await;
                let contract = BlobContract {
                    store,
                    prefix: format!("contract/{}", stringify!($check)),
                    large_size: LARGE,
                };
                blob::$check(contract.clone()).await;
                contract.assert_empty().await;
            }
        )+
    };
}

platform_contract::for_each_blob_check!(local_contract);
