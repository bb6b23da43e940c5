use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt as _;

use platform_ports::blob::BlobPrefix;

use super::*;

#[tokio::test]
async fn stores_bytes_at_the_key_path_with_a_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir.path().join("blobs"));
    let info = put(&store, "blog/post/42/cover.png", b"\x89PNG data", "image/png").await;
    assert_eq!(info.size, 9);

    let root = dir.path().join("blobs");
    assert_eq!(
        std::fs::read(root.join("blog/post/42/cover.png")).unwrap(),
        b"\x89PNG data"
    );
    let sidecar: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("blog/post/42/cover.png.meta.json")).unwrap()).unwrap();
    assert_eq!(sidecar["content_type"], "image/png");
    assert_eq!(sidecar["size"], 9);
    assert_eq!(sidecar["sha256"], info.sha256.unwrap());
    assert_eq!(
        files_under(&root),
        ["blog/post/42/cover.png", "blog/post/42/cover.png.meta.json"]
    );
}

#[tokio::test]
async fn keys_that_collide_with_other_keys_are_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    put(&store, "a/b", b"file", "text/plain").await;
    put(&store, "c/d/e", b"nested", "text/plain").await;

    // `a/b` is a blob, so it cannot also be a folder; `c/d` is a folder, so it cannot be a blob.
    for raw in ["a/b/c", "a/b/c/d", "c/d"] {
        let result = store
            .put(&key(raw), BlobBody::from_bytes("x"), PutOptions::new("text/plain"))
            .await;
        assert!(
            matches!(&result, Err(BlobError::Invalid(e)) if e.field == "key"),
            "{raw}: {result:?}"
        );
    }
    assert!(!dir.path().join("c/d.meta.json").exists(), "no orphaned metadata");
    assert_eq!(read(&store, "a/b").await.1, b"file");
    assert_eq!(read(&store, "c/d/e").await.1, b"nested");
    // A folder or a path through a file is not a blob.
    for raw in ["c/d", "a/b/c"] {
        assert!(!store.exists(&key(raw)).await.unwrap(), "{raw}");
        assert!(matches!(store.get(&key(raw)).await, Err(BlobError::NotFound)), "{raw}");
    }
}

#[tokio::test]
async fn reserved_names_are_refused_for_writes_and_absent_for_reads() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    put(&store, "a/f", b"x", "text/plain").await;
    let sidecar = key("a/f.meta.json");
    let result = store
        .put(&sidecar, BlobBody::from_bytes("y"), PutOptions::new("text/plain"))
        .await;
    assert!(matches!(result, Err(BlobError::Invalid(_))));
    assert!(!store.exists(&sidecar).await.unwrap());
    assert!(matches!(store.get(&sidecar).await, Err(BlobError::NotFound)));
    store.delete(&sidecar).await.unwrap();
    assert!(
        dir.path().join("a/f.meta.json").exists(),
        "a delete never reaches a sidecar"
    );
    assert_eq!(read(&store, "a/f").await.0.content_type, "text/plain");
}

#[tokio::test]
async fn delete_removes_blob_metadata_and_empty_parents() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let store = store_in(&root);
    put(&store, "blog/post/1/a.txt", b"a", "text/plain").await;
    put(&store, "blog/post/2/b.txt", b"b", "text/plain").await;

    store.delete(&key("blog/post/1/a.txt")).await.unwrap();
    assert!(!root.join("blog/post/1").exists(), "empty directory pruned");
    assert_eq!(files_under(&root), ["blog/post/2/b.txt", "blog/post/2/b.txt.meta.json"]);

    store.delete(&key("blog/post/2/b.txt")).await.unwrap();
    assert!(root.exists(), "the root itself stays");
    assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0);
    store_in(&dir.path().join("never-created"))
        .delete(&key("x/y"))
        .await
        .unwrap();
}

#[tokio::test]
async fn missing_or_stale_metadata_falls_back_to_octet_stream() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    put(&store, "k/f", b"x", "text/plain").await;
    std::fs::remove_file(dir.path().join("k/f.meta.json")).unwrap();
    let (info, bytes) = read(&store, "k/f").await;
    assert_eq!(
        (info.content_type.as_str(), info.sha256, bytes.as_slice()),
        ("application/octet-stream", None, &b"x"[..])
    );

    put(&store, "k/g", b"old", "text/plain").await;
    let sidecar = std::fs::read(dir.path().join("k/g.meta.json")).unwrap();
    put(&store, "k/g", b"new!", "image/png").await;
    // As after a crash between the two renames: the new data with the old metadata.
    std::fs::write(dir.path().join("k/g.meta.json"), sidecar).unwrap();
    let info = store.head(&key("k/g")).await.unwrap();
    assert_eq!(
        (info.size, info.content_type.as_str(), info.sha256),
        (4, "application/octet-stream", None)
    );
}

#[tokio::test]
async fn a_reader_keeps_the_version_it_opened() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let old = vec![1u8; 300_000];
    store
        .put(
            &key("v/blob"),
            BlobBody::from_bytes(old.clone()),
            PutOptions::new("a/old"),
        )
        .await
        .unwrap();
    let mut reading = store.get(&key("v/blob")).await.unwrap();
    let first = reading.body.next().await.unwrap().unwrap();
    put(&store, "v/blob", b"replacement", "a/new").await;
    let mut seen = first.to_vec();
    while let Some(chunk) = reading.body.next().await {
        seen.extend_from_slice(&chunk.unwrap());
    }
    assert!(seen == old);
    assert_eq!(reading.info.content_type, "a/old");
    assert_eq!(read(&store, "v/blob").await.1, b"replacement");
}

#[tokio::test]
async fn reads_are_streamed_in_bounded_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let data = vec![7u8; 1_000_000];
    store
        .put(&key("big"), BlobBody::from_bytes(data), PutOptions::new("a/b"))
        .await
        .unwrap();
    let body = store.get(&key("big")).await.unwrap().body;
    let sizes: Vec<usize> = body.map(|chunk| chunk.unwrap().len()).collect().await;
    assert!(sizes.len() >= 8, "{sizes:?}");
    assert!(sizes.iter().all(|size| *size <= 128 * 1024), "{sizes:?}");
    assert_eq!(sizes.iter().sum::<usize>(), 1_000_000);
}

#[tokio::test]
async fn failed_and_cancelled_uploads_leave_no_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(store_in(dir.path()));
    put(&store, "t/kept", b"x", "text/plain").await;

    let over = store
        .put(
            &key("t/big"),
            BlobBody::from_bytes(vec![0u8; 10_000]),
            PutOptions::new("a/b").with_max_size(10),
        )
        .await;
    assert!(matches!(over, Err(BlobError::TooLarge { limit: 10 })));

    // An upload whose body never ends, cancelled mid-way (the client hung up).
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
    sender.send(Ok(Bytes::from_static(b"first chunk"))).await.unwrap();
    let stream = futures::stream::unfold(receiver, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    let upload = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .put(&key("t/hung"), BlobBody::from_stream(stream), PutOptions::new("a/b"))
                .await
        })
    };
    while files_under(&dir.path().join("t")).len() < 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    upload.abort();
    assert!(upload.await.unwrap_err().is_cancelled());
    drop(sender);
    assert_eq!(files_under(&dir.path().join("t")), ["kept", "kept.meta.json"]);
}

#[tokio::test]
async fn concurrent_writers_leave_a_matching_pair() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(store_in(dir.path()));
    let mut tasks = Vec::new();
    for i in 0..16u8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let data = vec![i; 1000 + usize::from(i)];
            store
                .put(
                    &key("race/k"),
                    BlobBody::from_bytes(data),
                    PutOptions::new(format!("a/v{i}")),
                )
                .await
                .unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let (info, bytes) = read(&store, "race/k").await;
    let i = bytes[0];
    assert_eq!(bytes.len(), 1000 + usize::from(i));
    assert_eq!(
        info.content_type,
        format!("a/v{i}"),
        "the metadata belongs to the data that won"
    );
}

#[tokio::test]
async fn concurrent_uploads_and_deletes_in_one_directory_do_not_fail() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(store_in(dir.path()));
    let mut tasks = Vec::new();
    for i in 0..32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let key = key(&format!("shared/dir/{}", i % 4));
            for _ in 0..20 {
                store
                    .put(&key, BlobBody::from_bytes("abc"), PutOptions::new("text/plain"))
                    .await
                    .unwrap();
                store.delete(&key).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

#[tokio::test]
async fn the_root_is_created_lazily_or_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("deep/root");
    let store = store_in(&root);
    assert!(!store.exists(&key("a")).await.unwrap());
    assert!(store.list(&ListRequest::default()).await.unwrap().entries.is_empty());
    assert!(!root.exists());
    store.ensure_root().await.unwrap();
    assert!(root.is_dir());
    store.ensure_root().await.unwrap();

    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    assert!(matches!(
        store_in(&file).ensure_root().await,
        Err(BlobError::Backend(_))
    ));
}

#[tokio::test]
async fn listing_skips_internal_files_links_and_foreign_names() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    put(&store, "l/a", b"1", "text/plain").await;
    std::fs::write(dir.path().join("l/.abc.tmp-write"), b"in flight").unwrap();
    std::fs::write(dir.path().join("l/back\\slash"), b"not a key").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.path().join("l/a"), dir.path().join("l/link")).unwrap();
    let page = store
        .list(&ListRequest::new(BlobPrefix::parse("l/").unwrap()))
        .await
        .unwrap();
    let keys: Vec<_> = page.entries.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["l/a"]);
    let bad_cursor = ListRequest {
        cursor: Some("../x".into()),
        ..ListRequest::default()
    };
    assert!(matches!(store.list(&bad_cursor).await, Err(BlobError::Invalid(e)) if e.field == "cursor"));
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
    let store: Arc<dyn BlobStore> = module.resolve();
    let url = store
        .presign(&key("a/b"), SignedAccess::Get, Duration::from_secs(1))
        .await
        .unwrap();
    assert!(
        url.url
            .starts_with("http://blobs.example/api/v1/files/signed/a/b?expires="),
        "{}",
        url.url
    );
}

#[tokio::test]
async fn listing_is_in_byte_order_and_resumes_after_any_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    // `-` (0x2D) sorts before `/` (0x2F): `a-b` comes before everything in folder `a`.
    let names = [
        "p/a/1",
        "p/a/2",
        "p/a-b",
        "p/ab/3",
        "p/b",
        "p/a/sub/4",
        "p/a/sub-x",
        "q/other",
    ];
    for name in names {
        put(&store, name, b"x", "text/plain").await;
    }
    let mut expected: Vec<&str> = names.iter().copied().filter(|n| n.starts_with("p/")).collect();
    expected.sort_unstable();
    assert_eq!(expected[0], "p/a-b");
    let page = store
        .list(&ListRequest::new(BlobPrefix::parse("p/").unwrap()))
        .await
        .unwrap();
    let keys: Vec<_> = page.entries.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, expected);

    for (i, cursor) in expected.iter().enumerate() {
        let request = ListRequest {
            prefix: BlobPrefix::parse("p/").unwrap(),
            cursor: Some((*cursor).to_owned()),
            limit: 2,
        };
        let page = store.list(&request).await.unwrap();
        let keys: Vec<_> = page.entries.iter().map(|e| e.key.as_str()).collect();
        let rest = &expected[i + 1..];
        assert_eq!(keys, &rest[..rest.len().min(2)], "after {cursor}");
        assert_eq!(page.next_cursor.is_some(), rest.len() > 2, "after {cursor}");
    }
}
