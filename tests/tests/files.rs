//! The files API over real HTTP, on whichever blob store the profile
//! configures (`PLATFORM_TEST__BLOB__DRIVER=s3` runs it against SeaweedFS):
//! byte-identical round trips with their checksum, the size and type limits
//! (413 / 415, enforced while streaming), tenant isolation, signed URLs
//! that work without a token until they expire, and a blog post's files
//! deleted with it.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use platform_ports::blob::BlobStore;
use platform_ports::files::FileService;
use platform_ports::identity::UserService;
use platform_ports::model::{FileId, RequestContext, SecretString, TenantId};
use platform_tests::{TestApp, assert_problem, expect, expect_json};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use shaku::HasComponent;

const TENANT_B: &str = "5c2e8d1a-7b3f-4a6e-9d0c-1e2f3a4b5c6d";
const PASSWORD: &str = "correct-horse-battery";

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes no text codec would leave alone: every byte value, repeated.
fn binary(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| u8::try_from((i * 7 + i / 256) % 256).unwrap())
        .collect()
}

async fn upload_raw(app: &TestApp, token: &str, name: &str, content_type: &str, body: Vec<u8>) -> reqwest::Response {
    app.authed(Method::POST, &format!("files?filename={name}"), token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

/// The signed URL as this test can reach it: the local store's URLs name
/// `blob.local.public_base_url`, which a test server on port 0 is not at.
fn reachable(app: &TestApp, url: &str) -> String {
    let base = app.settings.blob.local.public_base_url.trim_end_matches('/');
    match url.strip_prefix(base) {
        Some(path) if app.settings.blob.driver == platform_bootstrap::config::BlobDriver::Local => app.url(path),
        _ => url.to_owned(),
    }
}

fn system_ctx(tenant: TenantId) -> RequestContext {
    RequestContext {
        tenant_id: tenant,
        ..RequestContext::system("test")
    }
}

#[tokio::test]
async fn an_upload_comes_back_byte_identical_with_its_checksum() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    let bytes = binary(300_000);

    let resp = upload_raw(&app, &admin, "photo.png", "image/png", bytes.clone()).await;
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let file = expect_json(resp, 201).await.unwrap();
    assert_eq!(file["filename"], "photo.png");
    assert_eq!(file["content_type"], "image/png");
    assert_eq!(file["size"], bytes.len());
    assert_eq!(file["sha256"], sha256_hex(&bytes));
    let id = file["id"].as_str().unwrap();
    assert_eq!(location, format!("/api/v1/files/{id}"));

    let meta = expect_json(app.get_as(&admin, &format!("files/{id}")).await.unwrap(), 200)
        .await
        .unwrap();
    assert_eq!(meta, file);

    let resp = app.get_as(&admin, &format!("files/{id}/content")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/png");
    assert_eq!(resp.headers()["x-checksum-sha256"], sha256_hex(&bytes).as_str());
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("photo.png")
    );
    let body = resp.bytes().await.unwrap();
    assert_eq!(body.len(), bytes.len());
    assert!(body == bytes, "downloaded bytes differ");

    // The audit trail names the upload.
    let audit = expect_json(app.get_as(&admin, "audit?action=file.uploaded").await.unwrap(), 200)
        .await
        .unwrap();
    assert!(
        audit["items"].as_array().unwrap().iter().any(|e| e["target_id"] == id),
        "{audit}"
    );

    expect(app.delete_as(&admin, &format!("files/{id}")).await.unwrap(), 204)
        .await
        .unwrap();
    assert_problem(
        app.get_as(&admin, &format!("files/{id}")).await.unwrap(),
        404,
        "not_found",
    )
    .await
    .unwrap();
    assert_problem(
        app.get_as(&admin, &format!("files/{id}/content")).await.unwrap(),
        404,
        "not_found",
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn multipart_uploads_stream_the_file_part() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    let bytes = binary(70_000);
    let part = reqwest::multipart::Part::bytes(bytes.clone())
        .file_name("report.pdf")
        .mime_str("application/pdf")
        .unwrap();
    let form = reqwest::multipart::Form::new()
        .text("note", "ignored")
        .part("file", part);
    let resp = app
        .authed(Method::POST, "files", &admin)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let file = expect_json(resp, 201).await.unwrap();
    assert_eq!(file["filename"], "report.pdf");
    assert_eq!(file["content_type"], "application/pdf");
    assert_eq!(file["sha256"], sha256_hex(&bytes));
    let id = file["id"].as_str().unwrap();
    let body = app
        .get_as(&admin, &format!("files/{id}/content"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(body == bytes, "downloaded bytes differ");

    // No `file` part: 422 naming it.
    let form = reqwest::multipart::Form::new().text("note", "no file");
    let resp = app
        .authed(Method::POST, "files", &admin)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_problem(resp, 422, "validation_failed").await.unwrap();
}

/// Past the S3 store's part size both ways up: a raw body (declared length,
/// streamed into its parts) and a multipart file part (unknown length,
/// through part buffers) come back byte-identical with their checksum.
#[tokio::test]
async fn uploads_past_the_part_size_round_trip_raw_and_multipart() {
    let limit = (32 * 1024 * 1024).to_string();
    let part = (5 * 1024 * 1024).to_string();
    let app = TestApp::spawn_with_overrides(&[
        ("PLATFORM__BLOB__MAX_UPLOAD_BYTES", &limit),
        ("PLATFORM__BLOB__S3__MULTIPART_THRESHOLD", &part),
    ])
    .await
    .unwrap();
    let admin = app.admin_token().await.unwrap();
    // Two whole parts and a short last one.
    let bytes = binary(2 * 5 * 1024 * 1024 + 123_457);
    let raw = upload_raw(&app, &admin, "raw.bin", "application/octet-stream", bytes.clone()).await;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes.clone())
            .file_name("form.bin")
            .mime_str("application/octet-stream")
            .unwrap(),
    );
    let multipart = app
        .authed(Method::POST, "files", &admin)
        .multipart(form)
        .send()
        .await
        .unwrap();
    for resp in [raw, multipart] {
        let file = expect_json(resp, 201).await.unwrap();
        assert_eq!(file["size"], bytes.len());
        assert_eq!(file["sha256"], sha256_hex(&bytes));
        let id = file["id"].as_str().unwrap();
        let body = app
            .get_as(&admin, &format!("files/{id}/content"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(body.len(), bytes.len());
        assert!(body == bytes, "{} came back different", file["filename"]);
        expect(app.delete_as(&admin, &format!("files/{id}")).await.unwrap(), 204)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn oversize_is_413_and_a_refused_type_is_415() {
    let limit: usize = 1024 * 1024;
    let limit_text = limit.to_string();
    let app = TestApp::spawn_with_overrides(&[("PLATFORM__BLOB__MAX_UPLOAD_BYTES", &limit_text)])
        .await
        .unwrap();
    let admin = app.admin_token().await.unwrap();

    // At the limit is fine; one byte more is not (declared length).
    let resp = upload_raw(&app, &admin, "ok.bin", "application/octet-stream", binary(limit)).await;
    expect(resp, 201).await.unwrap();
    let resp = upload_raw(&app, &admin, "big.bin", "application/octet-stream", binary(limit + 1)).await;
    assert_problem(resp, 413, "payload_too_large").await.unwrap();

    // Chunked (no length): refused as soon as the limit is crossed, long
    // before the client has sent everything.
    let sent = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&sent);
    let chunk = bytes::Bytes::from(binary(64 * 1024));
    let total: u64 = 64 * 64 * 1024;
    let stream = futures::stream::iter(0..64).then(move |_| {
        let (counter, chunk) = (Arc::clone(&counter), chunk.clone());
        async move {
            counter.fetch_add(chunk.len() as u64, Ordering::SeqCst);
            // Paced, so the server's answer can overtake the upload.
            tokio::time::sleep(Duration::from_millis(5)).await;
            Ok::<_, std::io::Error>(chunk)
        }
    });
    let resp = app
        .authed(Method::POST, "files?filename=stream.bin", &admin)
        .header("content-type", "application/octet-stream")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 413, "payload_too_large").await.unwrap();
    let pulled = sent.load(Ordering::SeqCst);
    assert!(
        pulled < total,
        "the whole body ({pulled} bytes) was sent before the refusal"
    );

    let resp = upload_raw(&app, &admin, "page.html", "text/html", b"<p>hi</p>".to_vec()).await;
    assert_problem(resp, 415, "unsupported_media_type").await.unwrap();
    let resp = app
        .authed(Method::POST, "files?filename=x", &admin)
        .body("no type")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 415, "unsupported_media_type").await.unwrap();
    // A name that is not one key segment.
    let resp = upload_raw(&app, &admin, "..", "text/plain", b"x".to_vec()).await;
    assert_problem(resp, 422, "validation_failed").await.unwrap();
}

#[tokio::test]
async fn another_tenant_s_file_is_404_on_every_route() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    let file = expect_json(
        upload_raw(&app, &admin, "a.txt", "text/plain", b"tenant A".to_vec()).await,
        201,
    )
    .await
    .unwrap();
    let id = file["id"].as_str().unwrap();

    let users: Arc<dyn UserService> = app.module.resolve();
    let tenant_b = TenantId(TENANT_B.parse().unwrap());
    users
        .ensure_admin(
            &system_ctx(tenant_b),
            "boss@b.example.com",
            &SecretString::new(PASSWORD),
        )
        .await
        .unwrap();
    let login = app
        .client
        .post(app.api_url("auth/login"))
        .header("x-tenant-id", TENANT_B)
        .json(&json!({"email": "boss@b.example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let admin_b = expect_json(login, 200).await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    for (method, path) in [
        (Method::GET, format!("files/{id}")),
        (Method::GET, format!("files/{id}/content")),
        (Method::POST, format!("files/{id}/signed-url")),
        (Method::DELETE, format!("files/{id}")),
    ] {
        let resp = app.authed(method.clone(), &path, &admin_b).send().await.unwrap();
        assert_problem(resp, 404, "not_found").await.unwrap();
    }
    // Still there for its own tenant, under its tenant's prefix.
    expect(app.get_as(&admin, &format!("files/{id}")).await.unwrap(), 200)
        .await
        .unwrap();
    let files: Arc<dyn FileService> = app.module.resolve();
    let stored = files
        .get(&system_ctx(TenantId::DEFAULT), id.parse::<FileId>().unwrap())
        .await
        .unwrap();
    assert!(
        stored
            .key
            .as_str()
            .starts_with(&format!("tenants/{}/files/file/{id}/", TenantId::DEFAULT))
    );
}

#[tokio::test]
async fn a_signed_url_works_without_a_token_until_it_expires() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    let bytes = binary(10_000);
    let file = expect_json(upload_raw(&app, &admin, "s.png", "image/png", bytes.clone()).await, 201)
        .await
        .unwrap();
    let id = file["id"].as_str().unwrap();

    let signed = expect_json(
        app.authed(Method::POST, &format!("files/{id}/signed-url?ttl_seconds=2"), &admin)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await
    .unwrap();
    assert_eq!(signed["method"], "GET");
    let url = reachable(&app, signed["url"].as_str().unwrap());
    let resp = app.client.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{url}");
    assert!(resp.bytes().await.unwrap() == bytes);

    if app.settings.blob.driver == platform_bootstrap::config::BlobDriver::Local {
        // Tampering: another expiry, or the signature of another key.
        let tampered = url.replacen("expires=", "expires=9", 1);
        let resp = app.client.get(&tampered).send().await.unwrap();
        assert_problem(resp, 403, "invalid_signature").await.unwrap();
        let other_key = url.replacen("/s.png?", "/t.png?", 1);
        let resp = app.client.get(&other_key).send().await.unwrap();
        assert_problem(resp, 403, "invalid_signature").await.unwrap();
    }

    tokio::time::sleep(Duration::from_millis(3100)).await;
    let resp = app.client.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 403, "{url} still works after its expiry");
    if app.settings.blob.driver == platform_bootstrap::config::BlobDriver::Local {
        assert_problem(resp, 403, "signed_url_expired").await.unwrap();
    }

    // A TTL out of range is refused.
    let resp = app
        .authed(Method::POST, &format!("files/{id}/signed-url?ttl_seconds=0"), &admin)
        .send()
        .await
        .unwrap();
    assert_problem(resp, 422, "validation_failed").await.unwrap();
}

#[tokio::test]
async fn a_post_lists_its_files_and_takes_them_when_deleted() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    let post = expect_json(
        app.post_as(&admin, "blog/posts", &json!({"title": "With files", "content": "x"}))
            .await
            .unwrap(),
        201,
    )
    .await
    .unwrap();
    let post_id = post["id"].as_str().unwrap();

    let attach = |name: &'static str, content_type: &'static str, path: &'static str, method: Method| {
        let request = app
            .authed(method, &format!("blog/posts/{post_id}/{path}?filename={name}"), &admin)
            .header("content-type", content_type)
            .body(binary(5000));
        async move { expect_json(request.send().await.unwrap(), 201).await.unwrap() }
    };
    let first = attach("notes.pdf", "application/pdf", "attachments", Method::POST).await;
    let second = attach("data.bin", "application/octet-stream", "attachments", Method::POST).await;
    let old_cover = attach("cover.png", "image/png", "cover", Method::PUT).await;
    let cover = attach("cover2.png", "image/png", "cover", Method::PUT).await;
    assert_eq!(cover["purpose"], "cover");
    // A cover must be an image.
    let resp = app
        .authed(
            Method::PUT,
            &format!("blog/posts/{post_id}/cover?filename=x.pdf"),
            &admin,
        )
        .header("content-type", "application/pdf")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 415, "unsupported_media_type").await.unwrap();

    let shown = expect_json(app.get_as(&admin, &format!("blog/posts/{post_id}")).await.unwrap(), 200)
        .await
        .unwrap();
    assert_eq!(shown["cover"]["id"], cover["id"], "{shown}");
    let listed: Vec<&Value> = shown["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["id"])
        .collect();
    assert_eq!(listed, [&first["id"], &second["id"]]);
    // The replaced cover is gone.
    let old = old_cover["id"].as_str().unwrap();
    assert_problem(
        app.get_as(&admin, &format!("files/{old}")).await.unwrap(),
        404,
        "not_found",
    )
    .await
    .unwrap();

    let files: Arc<dyn FileService> = app.module.resolve();
    let blobs: Arc<dyn BlobStore> = app.module.resolve();
    let ctx = system_ctx(TenantId::DEFAULT);
    let mut keys = Vec::new();
    for file in [&first, &second, &cover] {
        let id = file["id"].as_str().unwrap().parse::<FileId>().unwrap();
        let key = files.get(&ctx, id).await.unwrap().key;
        assert!(blobs.exists(&key).await.unwrap());
        keys.push(key);
    }

    expect(
        app.delete_as(&admin, &format!("blog/posts/{post_id}")).await.unwrap(),
        204,
    )
    .await
    .unwrap();
    for (file, key) in [&first, &second, &cover].into_iter().zip(&keys) {
        let id = file["id"].as_str().unwrap();
        assert_problem(
            app.get_as(&admin, &format!("files/{id}")).await.unwrap(),
            404,
            "not_found",
        )
        .await
        .unwrap();
        assert!(!blobs.exists(key).await.unwrap(), "{key} outlived its post");
    }
}
