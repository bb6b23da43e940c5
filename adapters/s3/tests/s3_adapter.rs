//! What only the S3 adapter has: bucket set-up, signature checking by the
//! server, object metadata, multipart clean-up, and the health check.

#![allow(clippy::unwrap_used, reason = "test code: a failed unwrap is a failed test")]

mod common;

use std::time::Duration;

use bytes::Bytes;
use platform_adapter_s3::{S3BlobStore, S3Settings, S3SetupError};
use platform_contract::blob::{binary, chunked};
use platform_ports::blob::{BlobBody, BlobError, BlobKey, BlobStore, PutOptions};
use platform_ports::health::{HealthChecker, HealthStatus};
use platform_ports::model::SecretString;

fn key(raw: &str) -> BlobKey {
    BlobKey::parse(raw).unwrap()
}

/// Multipart uploads in progress in the store's bucket. rust-s3's own listing
/// cannot parse SeaweedFS's answer (no `StorageClass`), so the request is a
/// presigned `GET /?uploads` and the `<Upload>` elements are counted.
async fn open_uploads(store: &S3BlobStore) -> usize {
    let query = std::collections::HashMap::from([("uploads".to_owned(), String::new())]);
    let url = store.bucket().presign_get("/", 60, Some(query)).await.unwrap();
    let response = reqwest::get(&url).await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.text().await.unwrap().matches("<Upload>").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_creates_the_bucket_or_reports_it_missing() {
    let Some(store) = common::fresh_store("connect").await else {
        return;
    };
    let name = common::unique_bucket("missing");
    let missing = S3BlobStore::connect(S3Settings {
        create_bucket: false,
        ..common::settings(&name)
    })
    .await;
    assert!(
        matches!(&missing, Err(S3SetupError::BucketMissing(b)) if *b == name),
        "{:?}",
        missing.err()
    );
    // Connecting again to an existing bucket (and creating it twice) is fine.
    let again = S3BlobStore::connect(common::settings(store.bucket().name().as_str())).await;
    assert!(again.is_ok(), "{:?}", again.err());
    common::drop_bucket(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_refused_by_the_server() {
    let Some(store) = common::fresh_store("wrong-secret").await else {
        return;
    };
    let wrong = S3Settings {
        secret_key: SecretString::new("not-the-secret"),
        create_bucket: false,
        ..common::settings(store.bucket().name().as_str())
    };
    assert!(matches!(
        S3BlobStore::connect(wrong.clone()).await,
        Err(S3SetupError::Client(_))
    ));
    let forged = S3BlobStore::new(wrong).unwrap();
    let put = forged
        .put(&key("x"), BlobBody::from_bytes("x"), PutOptions::new("text/plain"))
        .await;
    assert!(
        matches!(&put, Err(BlobError::Backend(e)) if e.to_string().contains("403")),
        "{put:?}"
    );
    assert!(forged.health_checker().check().await.is_err());
    common::drop_bucket(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_type_and_size_are_object_metadata() {
    let Some(store) = common::fresh_store("metadata").await else {
        return;
    };
    let data = binary(6 * 1024 * 1024);
    store
        .put(
            &key("m/multi.bin"),
            chunked(&data, 65_536),
            PutOptions::new("image/webp"),
        )
        .await
        .unwrap();
    store
        .put(
            &key("m/single.txt"),
            BlobBody::from_bytes("hello"),
            PutOptions::new("text/plain; charset=utf-8"),
        )
        .await
        .unwrap();
    let (multi, _) = store.bucket().head_object("m/multi.bin").await.unwrap();
    assert_eq!(multi.content_type.as_deref(), Some("image/webp"));
    assert_eq!(multi.content_length, Some(data.len() as i64));
    let (single, _) = store.bucket().head_object("m/single.txt").await.unwrap();
    assert_eq!(single.content_type.as_deref(), Some("text/plain; charset=utf-8"));
    assert_eq!(single.content_length, Some(5));
    common::drop_bucket(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_and_cancelled_multipart_uploads_are_aborted() {
    let Some(store) = common::fresh_store("abort").await else {
        return;
    };
    let data = binary(11 * 1024 * 1024);
    let over = store
        .put(
            &key("a/over"),
            chunked(&data, 65_536),
            PutOptions::new("a/b").with_max_size(10 * 1024 * 1024),
        )
        .await;
    assert!(matches!(over, Err(BlobError::TooLarge { .. })));

    // A body that sends two parts' worth, then hangs; the upload is cancelled.
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let hung = futures::stream::unfold(receiver, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    let task = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .put(&key("a/hung"), BlobBody::from_stream(hung), PutOptions::new("a/b"))
                .await
        })
    };
    for chunk in data.chunks(1024 * 1024) {
        sender.send(Ok(Bytes::copy_from_slice(chunk))).await.unwrap();
    }
    let started = std::time::Instant::now();
    while open_uploads(&store).await == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the multipart upload never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());

    let started = std::time::Instant::now();
    while open_uploads(&store).await > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "multipart uploads left open"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!store.exists(&key("a/over")).await.unwrap());
    assert!(!store.exists(&key("a/hung")).await.unwrap());
    drop(sender);
    common::drop_bucket(&store).await;
}

/// A body of declared length streams into its parts as it arrives; one that
/// turns out shorter or longer fails the upload, which is aborted: nothing
/// is stored and no part is left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_off_its_declared_length_stores_nothing_and_leaves_no_parts() {
    let Some(store) = common::fresh_store("declared").await else {
        return;
    };
    let data = binary(11 * 1024 * 1024);
    let len = data.len() as u64;
    for (declared, what) in [(len + 1, "short"), (len - 1, "long")] {
        let key = key(&format!("d/{what}"));
        let put = store
            .put(
                &key,
                chunked(&data, 65_536),
                PutOptions::new("a/b").with_length(declared),
            )
            .await;
        assert!(
            matches!(&put, Err(BlobError::Invalid(e)) if e.field == "length"),
            "{what}: {put:?}"
        );
        assert!(!store.exists(&key).await.unwrap(), "{what}");
    }
    let started = std::time::Instant::now();
    while open_uploads(&store).await > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "multipart uploads left open"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    common::drop_bucket(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_health_check_sees_the_bucket() {
    let Some(store) = common::fresh_store("health").await else {
        return;
    };
    assert_eq!(store.health_checker().check().await.unwrap(), HealthStatus::Up);
    let gone = S3BlobStore::new(common::settings(&common::unique_bucket("gone"))).unwrap();
    let err = gone.health_checker().check().await.unwrap_err();
    assert!(err.to_string().contains("unreachable"), "{err}");
    let nowhere = S3BlobStore::new(S3Settings {
        endpoint: Some("http://127.0.0.1:9".into()),
        request_timeout: Duration::from_secs(2),
        ..common::settings("nowhere")
    })
    .unwrap();
    assert!(nowhere.health_checker().check().await.is_err());
    common::drop_bucket(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_honours_if_match_which_binds_a_download_to_its_head() {
    let Some(store) = common::fresh_store("if-match").await else {
        return;
    };
    let info = store
        .put(
            &key("v/doc"),
            BlobBody::from_bytes("version one"),
            PutOptions::new("text/plain"),
        )
        .await
        .unwrap();
    let etag = info.etag.clone().unwrap();
    assert_eq!(store.head(&key("v/doc")).await.unwrap().etag, Some(etag.clone()));
    let with = |tag: &str| {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::IF_MATCH, format!("\"{tag}\"").parse().unwrap());
        store.bucket().with_extra_headers(headers).unwrap()
    };
    assert!(with(&etag).get_object_stream("v/doc").await.is_ok());
    let stale = with("0123456789abcdef0123456789abcdef")
        .get_object_stream("v/doc")
        .await;
    assert!(
        matches!(&stale, Err(s3::error::S3Error::HttpFailWithBody(412, _))),
        "{:?}",
        stale.err()
    );
    let object = store.get(&key("v/doc")).await.unwrap();
    assert_eq!(object.body.collect(100).await.unwrap(), "version one");
    common::drop_bucket(&store).await;
}
