//! The files use cases over mocks: checks before a byte is read, the row
//! and its audit entry in one unit of work, the blob removed when the row
//! cannot be written, deletion ordered row first.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::stream;
use platform_ports::StoreError;
use platform_ports::blob::{BlobBody, BlobInfo, MockBlobStore};
use platform_ports::files::{FileError, FileService, MockFileRepository, Upload};
use platform_ports::model::{FileId, UserId};
use platform_ports::testing::TxOutcome;
use uuid::Uuid;

use super::{FilesManager, FilesSettings, actions};
use crate::testing::{Log, as_user, counting_ids, fixed_clock};

fn settings() -> FilesSettings {
    FilesSettings {
        max_upload_bytes: 10,
        allowed_content_types: vec!["image/*".to_owned()],
        ..FilesSettings::default()
    }
}

fn manager(log: &Log, files: MockFileRepository, blobs: MockBlobStore) -> FilesManager {
    FilesManager {
        uow: Arc::new(log.unit_of_work()),
        files: Arc::new(files),
        blobs: Arc::new(blobs),
        audit: Arc::new(log.audit_store()),
        clock: Arc::new(fixed_clock()),
        ids: Arc::new(counting_ids()),
        settings: settings(),
    }
}

fn ctx() -> platform_ports::model::RequestContext {
    as_user(UserId(Uuid::from_u128(1)), None)
}

/// A body that fails the test if anything reads it.
fn unread_body() -> BlobBody {
    BlobBody::from_stream(stream::poll_fn(
        |_| -> std::task::Poll<Option<Result<Bytes, std::io::Error>>> { panic!("the body was read") },
    ))
}

fn upload(content_type: &str, length: Option<u64>, body: BlobBody) -> Upload {
    Upload {
        filename: "C:\\fakepath\\cat.png".to_owned(),
        content_type: content_type.to_owned(),
        length,
        body,
        attach_to: None,
    }
}

/// A blob store whose `put` stores under any key and answers fixed metadata.
fn storing(keys: Arc<Mutex<Vec<String>>>) -> MockBlobStore {
    let mut blobs = MockBlobStore::new();
    blobs.expect_put().returning(move |key, _, options| {
        keys.lock().unwrap().push(key.to_string());
        Ok(BlobInfo {
            key: key.clone(),
            size: 3,
            content_type: options.content_type,
            etag: None,
            sha256: Some("abc".to_owned()),
            last_modified: None,
        })
    });
    blobs
}

#[tokio::test]
async fn a_refused_content_type_or_declared_size_reads_nothing() {
    let log = Log::on_topic("-");
    let files = manager(&log, MockFileRepository::new(), MockBlobStore::new());
    let err = files
        .upload(&ctx(), upload("text/html", None, unread_body()))
        .await
        .unwrap_err();
    assert!(matches!(err, FileError::UnsupportedType(t) if t == "text/html"));
    let err = files
        .upload(&ctx(), upload("image/png", Some(11), unread_body()))
        .await
        .unwrap_err();
    assert!(matches!(err, FileError::TooLarge { limit: 10 }));
    log.assert_untouched();
}

#[tokio::test]
async fn an_upload_writes_its_row_and_audit_entry_in_one_unit_under_the_tenant_prefix() {
    let log = Log::on_topic("-");
    let keys = Arc::new(Mutex::new(Vec::new()));
    let mut repo = MockFileRepository::new();
    repo.expect_create().times(1).returning(|_, _| Ok(()));
    let files = manager(&log, repo, storing(Arc::clone(&keys)));
    let file = files
        .upload(&ctx(), upload("image/png", Some(3), BlobBody::from_bytes("abc")))
        .await
        .unwrap();
    assert_eq!(file.filename, "cat.png");
    assert_eq!((file.size, file.sha256.as_str()), (3, "abc"));
    let key = keys.lock().unwrap()[0].clone();
    let tenant = ctx().tenant_id;
    assert_eq!(key, format!("tenants/{tenant}/files/file/{}/cat.png", file.id));
    assert_eq!(log.outcome(), TxOutcome::Committed);
    assert_eq!(log.actions(), [actions::FILE_UPLOADED]);
}

#[tokio::test]
async fn a_row_that_cannot_be_written_takes_its_blob_with_it() {
    let log = Log::on_topic("-");
    let keys = Arc::new(Mutex::new(Vec::new()));
    let mut repo = MockFileRepository::new();
    repo.expect_create()
        .returning(|_, _| Err(StoreError::backend("db down")));
    let mut blobs = storing(Arc::clone(&keys));
    let deleted = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&deleted);
    blobs.expect_delete().times(1).returning(move |key| {
        seen.lock().unwrap().push(key.to_string());
        Ok(())
    });
    let files = manager(&log, repo, blobs);
    let err = files
        .upload(&ctx(), upload("image/png", None, BlobBody::from_bytes("abc")))
        .await
        .unwrap_err();
    assert!(matches!(err, FileError::Backend(_)));
    assert_eq!(log.outcome(), TxOutcome::RolledBack);
    assert_eq!(*deleted.lock().unwrap(), *keys.lock().unwrap());
}

#[tokio::test]
async fn another_tenant_s_file_is_not_found() {
    let log = Log::on_topic("-");
    let mut repo = MockFileRepository::new();
    repo.expect_find_by_id().returning(|_, _| Ok(None));
    let files = manager(&log, repo, MockBlobStore::new());
    let id = FileId(Uuid::from_u128(9));
    assert!(matches!(files.get(&ctx(), id).await, Err(FileError::NotFound)));
    assert!(matches!(files.delete(&ctx(), id).await, Err(FileError::NotFound)));
    log.assert_untouched();
}
