//! Behaviour of [`LocalBlobStore`] that only the local file system has: the
//! layout on disk, atomicity, symbolic links, and URL signing. The shared
//! behaviour is the contract suite (`tests/blob_contract.rs`).

mod disk;
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

fn key(raw: &str) -> BlobKey {
    BlobKey::parse(raw).unwrap()
}

async fn put(store: &LocalBlobStore, raw: &str, data: &'static [u8], content_type: &str) -> BlobInfo {
    store
        .put(&key(raw), BlobBody::from_bytes(data), PutOptions::new(content_type))
        .await
        .unwrap()
}

async fn read(store: &LocalBlobStore, raw: &str) -> (BlobInfo, Vec<u8>) {
    let object = store.get(&key(raw)).await.unwrap();
    (object.info, object.body.collect(u64::MAX).await.unwrap().to_vec())
}

/// Every file name under `dir`, recursively, relative to it.
fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    found.sort();
    found
}
