//! Behaviour of [`LocalBlobStore`] through the [`BlobStore`] port.

mod signed_urls;
mod storage;

use super::*;

const SECRET: &str = "test-signing-key";

fn store_in(root: &Path) -> LocalBlobStore {
    LocalBlobStore::new(LocalBlobSettings {
        root: root.to_path_buf(),
        public_base_url: "http://localhost:8080/".to_owned(),
        signing_key: SecretString::new(SECRET),
    })
}
