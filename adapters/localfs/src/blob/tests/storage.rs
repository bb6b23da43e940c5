use super::*;

#[tokio::test]
async fn uploads_and_downloads_with_content_type() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir.path().join("blobs"));
    let key = "blog/post/42/cover.png";
    assert!(!store.exists(key).await.unwrap());

    store.upload(key, b"\x89PNG data".to_vec(), "image/png").await.unwrap();

    assert!(store.exists(key).await.unwrap());
    let blob = store.download(key).await.unwrap();
    assert_eq!(
        blob,
        Blob {
            data: b"\x89PNG data".to_vec(),
            content_type: "image/png".to_owned()
        }
    );
    let on_disk = std::fs::read(dir.path().join("blobs/blog/post/42/cover.png")).unwrap();
    assert_eq!(on_disk, b"\x89PNG data");
}

#[tokio::test]
async fn overwrite_replaces_data_and_content_type() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    store.upload("m/r/1/f", b"old".to_vec(), "text/plain").await.unwrap();
    store
        .upload("m/r/1/f", b"new!".to_vec(), "application/json")
        .await
        .unwrap();
    let blob = store.download("m/r/1/f").await.unwrap();
    assert_eq!(blob.data, b"new!");
    assert_eq!(blob.content_type, "application/json");
    let names: Vec<_> = std::fs::read_dir(dir.path().join("m/r/1"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "only the blob and its metadata remain: {names:?}");
}

#[tokio::test]
async fn missing_blobs_are_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    assert!(matches!(store.download("a/b").await, Err(BlobError::NotFound)));
    store.upload("a/b/c", b"x".to_vec(), "text/plain").await.unwrap();
    // `a/b` is now a directory, and `a/b/c/d` runs through a file: neither is a blob.
    assert!(matches!(store.download("a/b").await, Err(BlobError::NotFound)));
    assert!(!store.exists("a/b").await.unwrap());
    assert!(matches!(store.download("a/b/c/d").await, Err(BlobError::NotFound)));
    assert!(!store.exists("a/b/c/d").await.unwrap());
}

#[tokio::test]
async fn keys_that_collide_with_other_keys_are_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    store.upload("a/b", b"file".to_vec(), "text/plain").await.unwrap();
    store.upload("c/d/e", b"nested".to_vec(), "text/plain").await.unwrap();

    // `a/b` is a blob, so it cannot also be a folder; `c/d` is a folder, so it cannot be a blob.
    let under_a_blob = store.upload("a/b/c", b"x".to_vec(), "text/plain").await;
    assert!(
        matches!(under_a_blob, Err(BlobError::InvalidKey(_))),
        "{under_a_blob:?}"
    );
    let over_a_folder = store.upload("c/d", b"x".to_vec(), "text/plain").await;
    assert!(
        matches!(over_a_folder, Err(BlobError::InvalidKey(_))),
        "{over_a_folder:?}"
    );
    assert!(!dir.path().join("c/d.meta.json").exists(), "no orphaned metadata");

    assert_eq!(store.download("a/b").await.unwrap().data, b"file");
    assert_eq!(store.download("c/d/e").await.unwrap().data, b"nested");
}

#[tokio::test]
async fn missing_metadata_falls_back_to_octet_stream() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    store.upload("k/f", b"x".to_vec(), "text/plain").await.unwrap();
    std::fs::remove_file(dir.path().join("k/f.meta.json")).unwrap();
    assert_eq!(
        store.download("k/f").await.unwrap().content_type,
        "application/octet-stream"
    );
}

#[tokio::test]
async fn delete_removes_blob_metadata_and_empty_parents() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let store = store_in(&root);
    store
        .upload("blog/post/1/a.txt", b"a".to_vec(), "text/plain")
        .await
        .unwrap();
    store
        .upload("blog/post/2/b.txt", b"b".to_vec(), "text/plain")
        .await
        .unwrap();

    store.delete("blog/post/1/a.txt").await.unwrap();

    assert!(!store.exists("blog/post/1/a.txt").await.unwrap());
    assert!(matches!(
        store.download("blog/post/1/a.txt").await,
        Err(BlobError::NotFound)
    ));
    assert!(!root.join("blog/post/1").exists(), "empty directory pruned");
    assert!(root.join("blog/post/2/b.txt.meta.json").exists(), "siblings untouched");

    store.delete("blog/post/2/b.txt").await.unwrap();
    assert!(root.exists(), "the root itself stays");
    assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0);

    // Deleting what is absent is fine, even when the root does not exist.
    store.delete("blog/post/2/b.txt").await.unwrap();
    store_in(&dir.path().join("never-created")).delete("x/y").await.unwrap();
}

#[tokio::test]
async fn the_root_is_created_lazily_or_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("deep/root");
    let store = store_in(&root);
    assert!(!root.exists());
    assert!(!store.exists("a").await.unwrap());
    store.ensure_root().await.unwrap();
    assert!(root.is_dir());
    store.ensure_root().await.unwrap();
}

#[tokio::test]
async fn ensure_root_reports_an_unusable_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    assert!(matches!(
        store_in(&file).ensure_root().await,
        Err(BlobError::Backend(_))
    ));
}

#[tokio::test]
async fn every_operation_rejects_invalid_keys() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let long_segment = format!("a/{}", "s".repeat(256));
    let long_key = "k/".repeat(513);
    let bad_keys = [
        "",
        "/abs/path",
        "a/../b",
        "./a",
        "a\\b",
        "a\0b",
        long_segment.as_str(),
        long_key.as_str(),
        "a/b.meta.json",
    ];
    for key in bad_keys {
        let invalid = |result: Result<(), BlobError>| matches!(result, Err(BlobError::InvalidKey(_)));
        assert!(
            invalid(store.upload(key, vec![1], "text/plain").await),
            "upload {key:?}"
        );
        assert!(invalid(store.download(key).await.map(drop)), "download {key:?}");
        assert!(invalid(store.exists(key).await.map(drop)), "exists {key:?}");
        assert!(invalid(store.delete(key).await), "delete {key:?}");
        assert!(invalid(
            store
                .signed_url(key, SignedAccess::Get, Duration::from_secs(60))
                .await
                .map(drop)
        ));
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing was written");
}

#[tokio::test]
async fn metadata_files_cannot_be_reached_as_keys() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    store.upload("a/f", b"x".to_vec(), "text/plain").await.unwrap();
    assert!(matches!(
        store.download("a/f.meta.json").await,
        Err(BlobError::InvalidKey(_))
    ));
    assert!(matches!(
        store.delete("a/f.meta.json").await,
        Err(BlobError::InvalidKey(_))
    ));
    assert!(store.exists("a/f").await.unwrap());
}

#[tokio::test]
async fn concurrent_uploads_and_deletes_in_one_directory_do_not_fail() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(store_in(dir.path()));
    let mut tasks = Vec::new();
    for i in 0..32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let key = format!("shared/dir/{}", i % 4);
            for _ in 0..20 {
                store.upload(&key, vec![1, 2, 3], "text/plain").await.unwrap();
                store.delete(&key).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

#[tokio::test]
async fn builds_through_shaku_with_parameters() {
    use shaku::HasComponent;
    shaku::module! {
        TestModule {
            components = [LocalBlobStore],
            providers = []
        }
    }
    let module = TestModule::builder()
        .with_component_parameters::<LocalBlobStore>(LocalBlobStoreParameters {
            settings: LocalBlobSettings {
                root: PathBuf::from("unused"),
                public_base_url: "http://blobs.example".to_owned(),
                signing_key: SecretString::new(SECRET),
            },
        })
        .build();
    let store: std::sync::Arc<dyn BlobStore> = module.resolve();
    let url = store
        .signed_url("a/b", SignedAccess::Get, Duration::from_secs(1))
        .await
        .unwrap();
    assert!(
        url.starts_with("http://blobs.example/blobs/a/b?method=GET&expires="),
        "{url}"
    );
}
