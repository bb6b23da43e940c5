use chrono::TimeZone;

use super::*;

/// Splits a signed URL into (percent-encoded path after `/blobs/`, method, expires, signature).
fn parse_url(url: &str) -> (String, String, i64, String) {
    let rest = url.strip_prefix("http://localhost:8080/blobs/").unwrap();
    let (path, query) = rest.split_once('?').unwrap();
    let params: Vec<(&str, &str)> = query.split('&').map(|pair| pair.split_once('=').unwrap()).collect();
    assert_eq!(
        params.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
        ["method", "expires", "signature"]
    );
    (
        path.to_owned(),
        params[0].1.to_owned(),
        params[1].1.parse().unwrap(),
        params[2].1.to_owned(),
    )
}

fn decode(path: &str) -> String {
    percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .unwrap()
        .into_owned()
}

#[tokio::test]
async fn signed_url_verifies_for_its_key_and_method() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let key = "blog/post/7/my photo+été.png";
    let before = Utc::now().timestamp();
    let url = store
        .signed_url(key, SignedAccess::Get, Duration::from_secs(300))
        .await
        .unwrap();

    let (path, method, expires, signature) = parse_url(&url);
    assert_eq!(path, "blog/post/7/my%20photo%2B%C3%A9t%C3%A9.png");
    assert_eq!(decode(&path), key);
    assert_eq!(method, "GET");
    assert!((before + 300..=Utc::now().timestamp() + 300).contains(&expires));
    assert_eq!(signature.len(), 64);

    let now = Utc::now();
    assert!(store.verify_signature(key, SignedAccess::Get, expires, &signature, now));
    assert!(
        !store.verify_signature(key, SignedAccess::Put, expires, &signature, now),
        "wrong method"
    );
    assert!(!store.verify_signature("blog/post/7/other.png", SignedAccess::Get, expires, &signature, now));
    assert!(
        !store.verify_signature(key, SignedAccess::Get, expires + 3600, &signature, now),
        "extended expiry"
    );
}

#[tokio::test]
async fn put_urls_name_their_method() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let url = store
        .signed_url("a/b", SignedAccess::Put, Duration::from_secs(60))
        .await
        .unwrap();
    let (_, method, expires, signature) = parse_url(&url);
    assert_eq!(method, "PUT");
    assert!(store.verify_signature("a/b", SignedAccess::Put, expires, &signature, Utc::now()));
    assert!(!store.verify_signature("a/b", SignedAccess::Get, expires, &signature, Utc::now()));
}

#[tokio::test]
async fn tampered_signatures_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let url = store
        .signed_url("a/b", SignedAccess::Get, Duration::from_secs(60))
        .await
        .unwrap();
    let (_, _, expires, signature) = parse_url(&url);
    let now = Utc::now();

    let mut flipped = signature.clone().into_bytes();
    flipped[10] = if flipped[10] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).unwrap();
    for bad in [
        flipped.as_str(),
        "",
        "not-hex",
        &signature[..63],
        &format!("{signature}00"),
    ] {
        assert!(
            !store.verify_signature("a/b", SignedAccess::Get, expires, bad, now),
            "{bad:?}"
        );
    }

    let other = LocalBlobStore::new(LocalBlobSettings {
        root: dir.path().to_path_buf(),
        public_base_url: "http://localhost:8080".to_owned(),
        signing_key: SecretString::new("another-key"),
    });
    assert!(
        !other.verify_signature("a/b", SignedAccess::Get, expires, &signature, now),
        "other key"
    );
}

#[tokio::test]
async fn expired_urls_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let url = store
        .signed_url("a/b", SignedAccess::Get, Duration::from_secs(60))
        .await
        .unwrap();
    let (_, _, expires, signature) = parse_url(&url);
    let at = |secs: i64| Utc.timestamp_opt(secs, 0).unwrap();
    assert!(store.verify_signature("a/b", SignedAccess::Get, expires, &signature, at(expires - 1)));
    assert!(!store.verify_signature("a/b", SignedAccess::Get, expires, &signature, at(expires)));
    assert!(!store.verify_signature("a/b", SignedAccess::Get, expires, &signature, at(expires + 1)));
}

#[tokio::test]
async fn signing_requires_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalBlobStore::new(LocalBlobSettings {
        root: dir.path().to_path_buf(),
        public_base_url: "http://localhost".to_owned(),
        signing_key: SecretString::default(),
    });
    let result = store
        .signed_url("a/b", SignedAccess::Get, Duration::from_secs(60))
        .await;
    assert!(matches!(result, Err(BlobError::Backend(_))));
    assert!(!store.verify_signature("a/b", SignedAccess::Get, i64::MAX, "", Utc::now()));
}

#[tokio::test]
async fn huge_ttls_saturate_instead_of_overflowing() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let url = store.signed_url("a/b", SignedAccess::Get, Duration::MAX).await.unwrap();
    let (_, _, expires, signature) = parse_url(&url);
    assert_eq!(expires, i64::MAX);
    assert!(store.verify_signature("a/b", SignedAccess::Get, expires, &signature, Utc::now()));
}

#[test]
fn debug_output_hides_the_signing_key() {
    let settings = LocalBlobSettings {
        root: PathBuf::from("/tmp/x"),
        public_base_url: "http://localhost".to_owned(),
        signing_key: SecretString::new(SECRET),
    };
    assert!(!format!("{settings:?}").contains(SECRET));
}
