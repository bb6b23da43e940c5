use chrono::TimeZone;
use platform_ports::blob::{SignedUrlError, SignedUrlVerifier};

use super::*;

/// Splits a signed URL into (percent-encoded key path, expires, signature).
fn parse_url(url: &str) -> (String, String, String) {
    let rest = url.strip_prefix("http://localhost:8080/api/v1/files/signed/").unwrap();
    let (path, query) = rest.split_once('?').unwrap();
    let params: Vec<(&str, &str)> = query.split('&').map(|pair| pair.split_once('=').unwrap()).collect();
    assert_eq!(
        params.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
        ["expires", "signature"]
    );
    (path.to_owned(), params[0].1.to_owned(), params[1].1.to_owned())
}

fn decode(path: &str) -> String {
    percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .unwrap()
        .into_owned()
}

async fn presigned(store: &LocalBlobStore, raw: &str, access: SignedAccess) -> (String, String, String) {
    let url = store
        .presign(&key(raw), access, Duration::from_secs(300))
        .await
        .unwrap();
    assert_eq!(url.access, access);
    parse_url(&url.url)
}

#[tokio::test]
async fn a_signed_url_verifies_for_its_key_and_method_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let raw = "blog/post/7/my photo+été.png";
    let before = Utc::now().timestamp();
    let (path, expires, signature) = presigned(&store, raw, SignedAccess::Get).await;
    assert_eq!(path, "blog/post/7/my%20photo%2B%C3%A9t%C3%A9.png");
    assert_eq!(decode(&path), raw);
    let expires_at: i64 = expires.parse().unwrap();
    assert!((before + 300..=Utc::now().timestamp() + 300).contains(&expires_at));
    assert_eq!(signature.len(), 64);

    let now = Utc::now();
    assert_eq!(
        store
            .url_verifier()
            .verify(raw, SignedAccess::Get, &expires, &signature, now),
        Ok(key(raw))
    );
    let check = |k: &str, access, e: &str, s: &str| store.url_verifier().verify(k, access, e, s, now);
    assert_eq!(
        check(raw, SignedAccess::Put, &expires, &signature),
        Err(SignedUrlError::BadSignature)
    );
    assert_eq!(
        check("blog/post/7/other.png", SignedAccess::Get, &expires, &signature),
        Err(SignedUrlError::BadSignature)
    );
    let later = (expires_at + 3600).to_string();
    assert_eq!(
        check(raw, SignedAccess::Get, &later, &signature),
        Err(SignedUrlError::BadSignature)
    );
}

#[tokio::test]
async fn put_urls_are_not_get_urls() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let (_, expires, signature) = presigned(&store, "a/b", SignedAccess::Put).await;
    let now = Utc::now();
    assert!(
        store
            .url_verifier()
            .verify("a/b", SignedAccess::Put, &expires, &signature, now)
            .is_ok()
    );
    assert_eq!(
        store
            .url_verifier()
            .verify("a/b", SignedAccess::Get, &expires, &signature, now),
        Err(SignedUrlError::BadSignature)
    );
}

#[tokio::test]
async fn tampered_or_malformed_urls_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let (_, expires, signature) = presigned(&store, "a/b", SignedAccess::Get).await;
    let now = Utc::now();
    let mut flipped = signature.clone().into_bytes();
    flipped[10] = if flipped[10] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).unwrap();
    for bad in [flipped.as_str(), "not-hex", &signature[..63], &format!("{signature}00")] {
        assert_eq!(
            store
                .url_verifier()
                .verify("a/b", SignedAccess::Get, &expires, bad, now),
            Err(SignedUrlError::BadSignature),
            "{bad:?}"
        );
    }
    assert_eq!(
        store.url_verifier().verify("a/b", SignedAccess::Get, &expires, "", now),
        Err(SignedUrlError::Malformed("signature"))
    );
    assert_eq!(
        store
            .url_verifier()
            .verify("a/b", SignedAccess::Get, "soon", &signature, now),
        Err(SignedUrlError::Malformed("expires"))
    );
    assert!(matches!(
        store
            .url_verifier()
            .verify("a/../b", SignedAccess::Get, &expires, &signature, now),
        Err(SignedUrlError::InvalidKey(_))
    ));

    let other = LocalBlobStore::new(LocalBlobSettings {
        signing_key: SecretString::new("another-key"),
        ..store.settings.clone()
    });
    assert_eq!(
        other
            .url_verifier()
            .verify("a/b", SignedAccess::Get, &expires, &signature, now),
        Err(SignedUrlError::BadSignature)
    );
}

#[tokio::test]
async fn urls_expire_at_their_second() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let (_, expires, signature) = presigned(&store, "a/b", SignedAccess::Get).await;
    let expires_at: i64 = expires.parse().unwrap();
    let at = |secs: i64| Utc.timestamp_opt(secs, 0).unwrap();
    assert!(
        store
            .url_verifier()
            .verify("a/b", SignedAccess::Get, &expires, &signature, at(expires_at - 1))
            .is_ok()
    );
    for late in [expires_at, expires_at + 1] {
        assert_eq!(
            store
                .url_verifier()
                .verify("a/b", SignedAccess::Get, &expires, &signature, at(late)),
            Err(SignedUrlError::Expired)
        );
    }
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
        .presign(&key("a/b"), SignedAccess::Get, Duration::from_secs(60))
        .await;
    assert!(matches!(result, Err(BlobError::Backend(_))));
    assert_eq!(
        store
            .url_verifier()
            .verify("a/b", SignedAccess::Get, "99999999999", "00", Utc::now()),
        Err(SignedUrlError::Unavailable)
    );
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

#[tokio::test]
async fn the_standalone_verifier_accepts_the_stores_urls() {
    use shaku::HasComponent;
    shaku::module! {
        VerifierModule {
            components = [LocalSignedUrlVerifier],
            providers = []
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let module = VerifierModule::builder()
        .with_component_parameters::<LocalSignedUrlVerifier>(LocalSignedUrlVerifierParameters {
            settings: store.settings.clone(),
        })
        .build();
    let verifier: std::sync::Arc<dyn SignedUrlVerifier> = module.resolve();
    let (_, expires, signature) = presigned(&store, "a/b", SignedAccess::Put).await;
    assert_eq!(
        verifier.verify("a/b", SignedAccess::Put, &expires, &signature, Utc::now()),
        Ok(key("a/b"))
    );
    let copy = store.url_verifier();
    assert_eq!(
        copy.verify("a/b", SignedAccess::Get, &expires, &signature, Utc::now()),
        Err(SignedUrlError::BadSignature)
    );
}
