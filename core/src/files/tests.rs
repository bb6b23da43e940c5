//! The files use cases over mocks: checks before a byte is read, the row,
//! its audit entry and its event in one unit of work, the blob removed when
//! the row cannot be written, deletion ordered row first.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::stream;
use platform_ports::StoreError;
use platform_ports::blob::{BlobBody, BlobInfo, MockBlobStore};
use platform_ports::events::MockOutbox;
use platform_ports::files::{AttachedTo, FileError, FileService, MockFileRepository, StoredFile, Upload};
use platform_ports::model::{FileId, UserId};
use platform_ports::testing::TxOutcome;
use uuid::Uuid;

use super::{EVENT_SOURCE, FILES_TOPIC, FilesManager, FilesSettings, actions, events};
use crate::testing::{Log, as_user, counting_ids, fixed_clock};

fn settings() -> FilesSettings {
    FilesSettings {
        max_upload_bytes: 10,
        allowed_content_types: vec!["image/*".to_owned()],
        ..FilesSettings::default()
    }
}

fn manager(log: &Log, files: MockFileRepository, blobs: MockBlobStore) -> FilesManager {
    with_outbox(log, files, blobs, log.outbox())
}

fn with_outbox(log: &Log, files: MockFileRepository, blobs: MockBlobStore, outbox: MockOutbox) -> FilesManager {
    FilesManager {
        uow: Arc::new(log.unit_of_work()),
        files: Arc::new(files),
        blobs: Arc::new(blobs),
        audit: Arc::new(log.audit_store()),
        outbox: Arc::new(outbox),
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
    let log = Log::on_topic(FILES_TOPIC);
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
async fn an_upload_writes_its_row_audit_entry_and_event_in_one_unit_under_the_tenant_prefix() {
    let log = Log::on_topic(FILES_TOPIC);
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
    assert_eq!(log.begins(), 1);
    assert_eq!(log.actions(), [actions::FILE_UPLOADED]);
    assert_eq!(log.event_types(), [events::FILE_UPLOADED]);
    let event = log.event(events::FILE_UPLOADED);
    assert_eq!(event.source, EVENT_SOURCE);
    assert_eq!(event.tenant_id, tenant);
    assert_eq!(event.aggregate_id, Some(file.id.to_string()));
    assert_eq!(event.data["id"], file.id.to_string());
    assert_eq!(event.data["owner_id"], Uuid::from_u128(1).to_string());
    assert_eq!(
        (&event.data["filename"], &event.data["size"], &event.data["sha256"]),
        (
            &serde_json::json!("cat.png"),
            &serde_json::json!(3),
            &serde_json::json!("abc")
        )
    );
    assert_eq!(event.data["content_type"], "image/png");
    // Where the bytes are is the store's business, not the subscribers'.
    assert!(event.data.get("key").is_none());
}

#[tokio::test]
async fn a_row_that_cannot_be_written_takes_its_blob_with_it() {
    let log = Log::on_topic(FILES_TOPIC);
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
    let log = Log::on_topic(FILES_TOPIC);
    let mut repo = MockFileRepository::new();
    repo.expect_find_by_id().returning(|_, _| Ok(None));
    let files = manager(&log, repo, MockBlobStore::new());
    let id = FileId(Uuid::from_u128(9));
    assert!(matches!(files.get(&ctx(), id).await, Err(FileError::NotFound)));
    assert!(matches!(files.delete(&ctx(), id).await, Err(FileError::NotFound)));
    log.assert_untouched();
}

#[tokio::test]
async fn an_event_that_cannot_be_enqueued_rolls_the_upload_back() {
    let log = Log::on_topic(FILES_TOPIC);
    let keys = Arc::new(Mutex::new(Vec::new()));
    let mut repo = MockFileRepository::new();
    repo.expect_create().times(1).returning(|_, _| Ok(()));
    let mut blobs = storing(Arc::clone(&keys));
    blobs.expect_delete().times(1).returning(|_| Ok(()));
    let mut outbox = MockOutbox::new();
    outbox
        .expect_enqueue()
        .times(1)
        .returning(|_, _, _| Err(StoreError::backend("outbox down")));
    let files = with_outbox(&log, repo, blobs, outbox);
    let err = files
        .upload(&ctx(), upload("image/png", Some(3), BlobBody::from_bytes("abc")))
        .await
        .unwrap_err();
    assert!(matches!(err, FileError::Backend(_)));
    // The row and the audit entry were written in the unit the event failed in.
    assert_eq!(log.outcome(), TxOutcome::RolledBack);
    assert_eq!(log.actions(), [actions::FILE_UPLOADED]);
}

fn stored(id: u128, attached_to: Option<AttachedTo>) -> StoredFile {
    StoredFile {
        id: FileId(Uuid::from_u128(id)),
        tenant_id: ctx().tenant_id,
        owner_id: UserId(Uuid::from_u128(1)),
        filename: format!("f{id}.png"),
        content_type: "image/png".to_owned(),
        size: 7,
        sha256: "00".repeat(32),
        key: platform_ports::blob::BlobKey::parse(&format!("tenants/x/files/file/{id}/f{id}.png")).unwrap(),
        attached_to,
        created_at: crate::testing::now(),
    }
}

#[tokio::test]
async fn a_deletion_writes_its_event_with_its_audit_entry_and_deletes_the_blob_after_commit() {
    let log = Log::on_topic(FILES_TOPIC);
    let file = stored(5, None);
    let mut repo = MockFileRepository::new();
    let found = file.clone();
    repo.expect_find_by_id().returning(move |_, _| Ok(Some(found.clone())));
    repo.expect_delete().times(1).returning(|_, _, _| Ok(()));
    let mut blobs = MockBlobStore::new();
    let committed = log.committed();
    let key = file.key.clone();
    blobs
        .expect_delete()
        .withf(move |k| *k == key && committed())
        .times(1)
        .returning(|_| Ok(()));
    let files = manager(&log, repo, blobs);
    files.delete(&ctx(), file.id).await.unwrap();
    assert_eq!((log.begins(), log.outcome()), (1, TxOutcome::Committed));
    assert_eq!(log.actions(), [actions::FILE_DELETED]);
    assert_eq!(log.event_types(), [events::FILE_DELETED]);
    let event = log.event(events::FILE_DELETED);
    assert_eq!(event.aggregate_id, Some(file.id.to_string()));
    assert_eq!(event.data["filename"], "f5.png");
    assert_eq!(event.data["attached_to"], serde_json::Value::Null);
}

#[tokio::test]
async fn detaching_a_resource_s_files_publishes_one_deletion_each_in_the_caller_s_unit() {
    let log = Log::on_topic(FILES_TOPIC);
    let post = AttachedTo {
        module: "blog".to_owned(),
        resource_type: "post".to_owned(),
        resource_id: "9".to_owned(),
        purpose: "attachment".to_owned(),
    };
    let removed = vec![stored(6, Some(post.clone())), stored(7, Some(post))];
    let mut repo = MockFileRepository::new();
    let rows = removed.clone();
    repo.expect_delete_attached()
        .withf(|_, _, module, resource, id| (module, resource, id) == ("blog", "post", "9"))
        .times(1)
        .returning(move |_, _, _, _, _| Ok(rows.clone()));
    let files = manager(&log, repo, MockBlobStore::new());
    let uow = log.unit_of_work();
    let mut tx = platform_ports::persistence::UnitOfWork::begin(&uow).await.unwrap();
    let detached = files.detach_all(&mut tx, &ctx(), "blog", "post", "9").await.unwrap();
    assert_eq!(detached, removed);
    assert_eq!(log.event_types(), [events::FILE_DELETED, events::FILE_DELETED]);
    let ids: Vec<_> = log.events().into_iter().map(|e| e.aggregate_id.unwrap()).collect();
    assert_eq!(ids, [removed[0].id.to_string(), removed[1].id.to_string()]);
    assert_eq!(log.event(events::FILE_DELETED).data["attached_to"]["resource_id"], "9");
    assert_eq!(log.actions(), [actions::FILE_DELETED, actions::FILE_DELETED]);
}
