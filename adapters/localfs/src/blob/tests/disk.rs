//! Symbolic links below the root are never followed, whatever the key.

#![cfg(unix)]

use std::os::unix::fs::symlink;

use platform_ports::blob::BlobPrefix;

use super::*;

/// A root holding a link to a folder outside it and a link to a file outside it.
fn root_with_links() -> (tempfile::TempDir, tempfile::TempDir, LocalBlobStore) {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), b"outside").unwrap();
    let root = tempfile::tempdir().unwrap();
    symlink(outside.path(), root.path().join("escape")).unwrap();
    std::fs::create_dir(root.path().join("real")).unwrap();
    symlink(outside.path().join("secret"), root.path().join("real/file")).unwrap();
    let store = store_in(root.path());
    (root, outside, store)
}

fn refused<T: std::fmt::Debug>(result: Result<T, BlobError>) -> bool {
    matches!(&result, Err(BlobError::Backend(e)) if e.to_string().contains("symbolic link"))
}

#[tokio::test]
async fn reads_through_links_are_refused() {
    let (_root, _outside, store) = root_with_links();
    for raw in ["escape/secret", "real/file"] {
        assert!(refused(store.get(&key(raw)).await), "get {raw}");
        assert!(refused(store.head(&key(raw)).await), "head {raw}");
        assert!(refused(store.exists(&key(raw)).await), "exists {raw}");
    }
}

#[tokio::test]
async fn writes_and_deletes_through_links_are_refused() {
    let (_root, outside, store) = root_with_links();
    let put = store
        .put(
            &key("escape/planted"),
            BlobBody::from_bytes("x"),
            PutOptions::new("text/plain"),
        )
        .await;
    assert!(refused(put));
    assert!(!outside.path().join("planted").exists());
    let over_link = store
        .put(
            &key("real/file"),
            BlobBody::from_bytes("x"),
            PutOptions::new("text/plain"),
        )
        .await;
    assert!(refused(over_link));
    assert!(refused(store.delete(&key("escape/secret")).await));
    assert_eq!(std::fs::read(outside.path().join("secret")).unwrap(), b"outside");
}

#[tokio::test]
async fn listing_does_not_follow_links() {
    let (_root, _outside, store) = root_with_links();
    let everything = store.list(&ListRequest::default()).await.unwrap();
    assert!(everything.entries.is_empty(), "{:?}", everything.entries);
    let through = store
        .list(&ListRequest::new(BlobPrefix::parse("escape/").unwrap()))
        .await;
    assert!(refused(through));
}
