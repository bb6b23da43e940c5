//! What the S3 tests share: finding the server (or skipping loudly), and a
//! bucket of their own, deleted afterwards.

#![allow(dead_code, reason = "each test binary uses part of the support code")]

use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use platform_adapter_s3::{S3BlobStore, S3Settings};
use platform_ports::blob::{BlobPrefix, BlobStore, ListRequest};
use platform_ports::model::SecretString;

/// Whether this run is CI, where a missing server fails instead of skipping.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The S3 endpoint the tests use (`.ci/services/s3.sh` starts SeaweedFS there).
pub fn endpoint() -> String {
    std::env::var("PLATFORM_TEST_S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:18333".into())
}

/// Settings for `bucket` on the test server, with the script's default credentials.
pub fn settings(bucket: &str) -> S3Settings {
    S3Settings {
        endpoint: Some(endpoint()),
        access_key: std::env::var("PLATFORM_TEST_S3_ACCESS_KEY").unwrap_or_else(|_| "platform-test-access".into()),
        secret_key: SecretString::new(
            std::env::var("PLATFORM_TEST_S3_SECRET_KEY").unwrap_or_else(|_| "platform-test-secret".into()),
        ),
        path_style: true,
        create_bucket: true,
        multipart_threshold: platform_adapter_s3::MIN_PART_SIZE,
        ..S3Settings::new(bucket, "us-east-1")
    }
}

/// A bucket name no other test (or earlier run) uses.
pub fn unique_bucket(name: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let name: String = name.chars().filter(char::is_ascii_alphanumeric).take(20).collect();
    format!(
        "t-{}-{}-{:x}-{}",
        name.to_ascii_lowercase(),
        std::process::id(),
        nanos % (1 << 40),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Whether something accepts TCP connections at the endpoint's host and port.
async fn reachable(endpoint: &str) -> bool {
    let authority = endpoint.trim_start_matches("http://").trim_start_matches("https://");
    let connect = tokio::net::TcpStream::connect(authority.to_owned());
    matches!(tokio::time::timeout(Duration::from_secs(2), connect).await, Ok(Ok(_)))
}

/// A store on a fresh bucket, or `None` after a loud skip (a failure in CI).
pub async fn fresh_store(test: &str) -> Option<S3BlobStore> {
    let endpoint = endpoint();
    if !reachable(&endpoint).await {
        assert!(!in_ci(), "CI=true and the S3 server is not reachable at {endpoint}");
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED: {test}: S3 (SeaweedFS) not reachable at {endpoint} (start it with .ci/services/s3.sh) ***\n"
        );
        return None;
    }
    Some(S3BlobStore::connect(settings(&unique_bucket(test))).await.unwrap())
}

/// Deletes every object left in the store's bucket, then the bucket.
pub async fn drop_bucket(store: &S3BlobStore) {
    let everything = store.list(&ListRequest::new(BlobPrefix::default())).await.unwrap();
    for entry in everything.entries {
        store.delete(&entry.key).await.unwrap();
    }
    store.delete_bucket().await.unwrap();
}
