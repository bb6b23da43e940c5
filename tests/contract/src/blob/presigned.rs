//! Presigned URLs, used as a client without credentials would: over HTTP.

use std::time::Duration;

use chrono::Utc;
use platform_ports::blob::{BlobError, SignedAccess};

use super::{BlobContract, binary};

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A presigned GET downloads the blob, bytes and content type, with no other credentials.
pub async fn blob_presigned_get(c: BlobContract) {
    let key = c.key("shared/report.pdf");
    let data = binary(20_000);
    c.put(&key, &data, "application/pdf").await;
    let before = Utc::now();
    let url = c
        .store
        .presign(&key, SignedAccess::Get, Duration::from_secs(300))
        .await
        .unwrap();
    assert_eq!(url.access, SignedAccess::Get);
    let ttl = url.expires_at - before;
    assert!(ttl.num_seconds() >= 298 && ttl.num_seconds() <= 301, "{ttl:?}");

    let response = http().get(&url.url).send().await.unwrap();
    assert_eq!(response.status(), 200, "{}", url.url);
    assert_eq!(
        response.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/pdf")
    );
    assert!(response.bytes().await.unwrap() == data);
    c.store.delete(&key).await.unwrap();
}

/// A presigned PUT uploads; the request's content type becomes the blob's.
/// A GET URL cannot be used to upload.
pub async fn blob_presigned_put(c: BlobContract) {
    let key = c.key("uploads/avatar one+two.png");
    let data = binary(30_000);
    let url = c
        .store
        .presign(&key, SignedAccess::Put, Duration::from_secs(300))
        .await
        .unwrap();
    let response = http()
        .put(&url.url)
        .header("content-type", "image/png")
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}: {}", response.status(), url.url);
    let (info, bytes) = c.read(&key).await;
    assert!(bytes == data);
    assert_eq!(info.content_type, "image/png");

    let get_url = c
        .store
        .presign(&key, SignedAccess::Get, Duration::from_secs(300))
        .await
        .unwrap();
    let misuse = http().put(&get_url.url).body("overwrite").send().await.unwrap();
    assert!(
        misuse.status().is_client_error(),
        "a GET URL used to PUT: {}",
        misuse.status()
    );
    assert!(c.read(&key).await.1 == data);
    c.store.delete(&key).await.unwrap();
}

/// Presigned URLs stop working after their expiry.
pub async fn blob_presigned_urls_expire(c: BlobContract) {
    let key = c.key("short-lived");
    c.put(&key, b"soon gone", "text/plain").await;
    let get = c
        .store
        .presign(&key, SignedAccess::Get, Duration::from_secs(1))
        .await
        .unwrap();
    let put = c
        .store
        .presign(&key, SignedAccess::Put, Duration::from_secs(1))
        .await
        .unwrap();
    let wait = (get.expires_at - Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(1500);
    tokio::time::sleep(wait).await;

    let response = http().get(&get.url).send().await.unwrap();
    assert_eq!(response.status(), 403, "expired GET");
    let response = http().put(&put.url).body("late").send().await.unwrap();
    assert_eq!(response.status(), 403, "expired PUT");
    assert_eq!(c.read(&key).await.1, b"soon gone");
    c.store.delete(&key).await.unwrap();
}

/// A URL whose signature, key or expiry was changed is refused.
pub async fn blob_tampered_presigned_url_is_refused(c: BlobContract) {
    let key = c.key("private/a.txt");
    let other = c.key("private/b.txt");
    c.put(&key, b"mine", "text/plain").await;
    c.put(&other, b"not yours", "text/plain").await;
    let url = c
        .store
        .presign(&key, SignedAccess::Get, Duration::from_secs(300))
        .await
        .unwrap()
        .url;
    assert_eq!(http().get(&url).send().await.unwrap().status(), 200);

    let at = url.find("ignature=").unwrap() + "ignature=".len();
    let flipped = if url.as_bytes()[at] == b'0' { "1" } else { "0" };
    let bad_signature = format!("{}{flipped}{}", &url[..at], &url[at + 1..]);
    let other_key = url.replacen("/a.txt", "/b.txt", 1);
    let longer = extend_expiry(&url);
    for (what, tampered) in [("signature", bad_signature), ("key", other_key), ("expiry", longer)] {
        assert_ne!(tampered, url, "{what} was not changed");
        let status = http().get(&tampered).send().await.unwrap().status();
        assert_eq!(status, 403, "tampered {what}: {tampered}");
    }
    c.store.delete(&key).await.unwrap();
    c.store.delete(&other).await.unwrap();
}

/// TTLs outside 1 s ..= 7 days are refused, naming the field.
pub async fn blob_presign_rejects_bad_ttls(c: BlobContract) {
    let key = c.key("x");
    for ttl in [
        Duration::ZERO,
        Duration::from_millis(500),
        Duration::from_secs(8 * 24 * 3600),
    ] {
        let result = c.store.presign(&key, SignedAccess::Get, ttl).await;
        assert!(
            matches!(&result, Err(BlobError::Invalid(e)) if e.field == "ttl"),
            "{ttl:?}: {result:?}"
        );
    }
}

/// The URL with its expiry parameter (`expires=` or S3's `X-Amz-Expires=`) made larger.
fn extend_expiry(url: &str) -> String {
    for name in ["X-Amz-Expires=", "expires="] {
        if let Some(start) = url.find(name).map(|i| i + name.len()) {
            let end = url[start..].find('&').map_or(url.len(), |i| start + i);
            let value: i64 = url[start..end].parse().unwrap();
            return format!("{}{}{}", &url[..start], value + 1000, &url[end..]);
        }
    }
    panic!("no expiry parameter in {url}");
}
