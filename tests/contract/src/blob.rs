//! Blob storage: bytes, metadata, listing, deletion and presigned URLs.
//!
//! Every check works under [`BlobContract::prefix`] and deletes what it
//! wrote, so checks can share a bucket or a root and run in parallel; the
//! runner asserts nothing is left with [`BlobContract::assert_empty`].
//! Presigned URLs are fetched over HTTP with reqwest: the store's own
//! server (S3) or, for stores whose URLs the platform serves, a server the
//! runner starts.

mod presigned;

use std::sync::Arc;

use bytes::Bytes;
use futures::stream;
use platform_ports::BoxError;
use platform_ports::blob::{BlobBody, BlobError, BlobInfo, BlobKey, BlobPrefix, BlobStore, ListRequest, PutOptions};
use sha2::{Digest, Sha256};

pub use presigned::*;

/// Calls `$runner!(check, check, ...)` with every blob check, so each
/// adapter's test file runs them all (and any check added later) from one list.
#[macro_export]
macro_rules! for_each_blob_check {
    ($runner:ident) => {
        $runner!(
            blob_round_trip_binary,
            blob_empty_object,
            blob_large_object,
            blob_overwrite_replaces_metadata,
            blob_list_by_prefix,
            blob_delete_and_exists,
            blob_refused_uploads_store_nothing,
            blob_presigned_get,
            blob_presigned_put,
            blob_presigned_urls_expire,
            blob_tampered_presigned_url_is_refused,
            blob_presign_rejects_bad_ttls,
        );
    };
}

/// What the checks run against.
#[derive(Clone)]
pub struct BlobContract {
    /// The store under test.
    pub store: Arc<dyn BlobStore>,
    /// Every key the checks write starts with `{prefix}/`; unique per check.
    pub prefix: String,
    /// Size of the "large" object: above the store's multipart threshold, if it has one.
    pub large_size: usize,
}

impl BlobContract {
    /// `{prefix}/{name}` as a key.
    pub fn key(&self, name: &str) -> BlobKey {
        BlobKey::parse(&format!("{}/{name}", self.prefix)).unwrap()
    }

    /// Fails when any blob is left under the prefix.
    pub async fn assert_empty(&self) {
        let page = self.store.list(&listing(&format!("{}/", self.prefix))).await.unwrap();
        let left: Vec<_> = page.entries.iter().map(|e| e.key.to_string()).collect();
        assert!(left.is_empty(), "blobs left behind: {left:?}");
    }

    async fn put(&self, key: &BlobKey, data: &[u8], content_type: &str) -> BlobInfo {
        self.store
            .put(key, chunked(data, 7919), PutOptions::new(content_type))
            .await
            .unwrap()
    }

    async fn read(&self, key: &BlobKey) -> (BlobInfo, Vec<u8>) {
        let object = self.store.get(key).await.unwrap();
        let bytes = object.body.collect(u64::MAX).await.unwrap();
        (object.info, bytes.to_vec())
    }
}

/// `data` as a body of `chunk`-byte chunks (the last one shorter).
pub fn chunked(data: &[u8], chunk: usize) -> BlobBody {
    let chunks: Vec<Result<Bytes, BoxError>> = data
        .chunks(chunk.max(1))
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    BlobBody::from_stream(stream::iter(chunks))
}

/// `len` bytes that cover every byte value and do not repeat with a short period.
pub fn binary(len: usize) -> Vec<u8> {
    let mut state: u32 = 0x9E37_79B9;
    (0..len)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            if i < 256 { i as u8 } else { state.to_le_bytes()[0] }
        })
        .collect()
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

fn listing(prefix: &str) -> ListRequest {
    ListRequest::new(BlobPrefix::parse(prefix).unwrap())
}

/// Binary content (every byte value, NULs, invalid UTF-8) comes back identical,
/// with the size, content type and SHA-256 the put reported.
pub async fn blob_round_trip_binary(c: BlobContract) {
    let key = c.key("post/1/photo.bin");
    let data = binary(100_000);
    let put = c.put(&key, &data, "application/x-test").await;
    assert_eq!(put.key, key);
    assert_eq!(put.size, data.len() as u64);
    assert_eq!(put.content_type, "application/x-test");
    assert_eq!(put.sha256.as_deref(), Some(sha256_hex(&data).as_str()));

    let (info, bytes) = c.read(&key).await;
    assert!(bytes == data, "bytes differ");
    assert_eq!(
        (info.size, info.content_type.as_str()),
        (data.len() as u64, "application/x-test")
    );
    let head = c.store.head(&key).await.unwrap();
    assert_eq!(
        (head.size, head.content_type.as_str()),
        (data.len() as u64, "application/x-test")
    );
    if let Some(sha) = &head.sha256 {
        assert_eq!(sha, &sha256_hex(&data));
    }
    c.store.delete(&key).await.unwrap();
}

/// An empty blob is a blob: stored, listed, read back as zero bytes.
pub async fn blob_empty_object(c: BlobContract) {
    let key = c.key("empty");
    let put = c
        .store
        .put(&key, BlobBody::empty(), PutOptions::new("text/plain"))
        .await
        .unwrap();
    assert_eq!(put.size, 0);
    assert_eq!(put.sha256.as_deref(), Some(sha256_hex(b"").as_str()));
    assert!(c.store.exists(&key).await.unwrap());
    let (info, bytes) = c.read(&key).await;
    assert!(bytes.is_empty());
    assert_eq!((info.size, info.content_type.as_str()), (0, "text/plain"));
    let page = c.store.list(&listing(&format!("{}/", c.prefix))).await.unwrap();
    assert_eq!(page.entries.len(), 1);
    assert_eq!(page.entries[0].size, 0);
    c.store.delete(&key).await.unwrap();
}

/// A blob above the multipart threshold, streamed in uneven chunks with a
/// declared length, comes back identical.
pub async fn blob_large_object(c: BlobContract) {
    let key = c.key("large.bin");
    let data = binary(c.large_size);
    let options = PutOptions::new("application/octet-stream").with_length(data.len() as u64);
    let put = c.store.put(&key, chunked(&data, 100_003), options).await.unwrap();
    assert_eq!(put.size, data.len() as u64);
    assert_eq!(put.sha256.as_deref(), Some(sha256_hex(&data).as_str()));
    let (info, bytes) = c.read(&key).await;
    assert_eq!(info.size, data.len() as u64);
    assert_eq!(bytes.len(), data.len());
    assert!(bytes == data, "bytes differ");
    c.store.delete(&key).await.unwrap();
}

/// Overwriting replaces bytes, content type and entity tag; metadata has a modification time.
pub async fn blob_overwrite_replaces_metadata(c: BlobContract) {
    let key = c.key("doc");
    let first = c.put(&key, b"first version", "text/plain").await;
    let second = c.put(&key, b"{\"second\":true}", "application/json").await;
    let (info, bytes) = c.read(&key).await;
    assert_eq!(bytes, b"{\"second\":true}");
    assert_eq!(info.content_type, "application/json");
    assert_eq!(info.size, 15);
    assert!(info.last_modified.is_some());
    assert!(info.etag.is_some());
    assert_ne!(first.etag, second.etag);
    assert_eq!(c.store.head(&key).await.unwrap().etag, info.etag);
    c.store.delete(&key).await.unwrap();
}

/// Listing matches byte prefixes (not only folders), and pages hand out every key once.
pub async fn blob_list_by_prefix(c: BlobContract) {
    let names = ["a/1", "a/2", "a-b", "ab/3", "b", "a/sub/4"];
    for (i, name) in names.iter().enumerate() {
        c.put(&c.key(name), &vec![b'x'; i + 1], "text/plain").await;
    }
    let p = &c.prefix;
    // Sorted here: AWS and the local store list in byte order, but some
    // S3-compatible servers (SeaweedFS) list folder by folder.
    let keys = |page: &platform_ports::blob::BlobPage| -> Vec<String> {
        let mut keys: Vec<String> = page.entries.iter().map(|e| e.key.to_string()).collect();
        keys.sort();
        keys
    };
    let size_of = |page: &platform_ports::blob::BlobPage, name: &str| {
        page.entries
            .iter()
            .find(|e| e.key.as_str() == format!("{p}/{name}"))
            .map(|e| e.size)
    };
    let all_a = c.store.list(&listing(&format!("{p}/a"))).await.unwrap();
    assert_eq!(
        keys(&all_a),
        [
            format!("{p}/a-b"),
            format!("{p}/a/1"),
            format!("{p}/a/2"),
            format!("{p}/a/sub/4"),
            format!("{p}/ab/3")
        ]
    );
    assert_eq!(all_a.next_cursor, None);
    assert_eq!(size_of(&all_a, "a-b"), Some(3));
    assert_eq!(size_of(&all_a, "a/sub/4"), Some(6));

    let folder = c.store.list(&listing(&format!("{p}/a/"))).await.unwrap();
    assert_eq!(
        keys(&folder),
        [format!("{p}/a/1"), format!("{p}/a/2"), format!("{p}/a/sub/4")]
    );
    let none = c.store.list(&listing(&format!("{p}/zzz"))).await.unwrap();
    assert!(none.entries.is_empty() && none.next_cursor.is_none());

    let mut request = listing(&format!("{p}/"));
    request.limit = 2;
    let mut paged = Vec::new();
    let mut pages = 0;
    loop {
        let page = c.store.list(&request).await.unwrap();
        assert!(page.entries.len() <= 2);
        paged.extend(keys(&page));
        pages += 1;
        match page.next_cursor {
            Some(cursor) => request.cursor = Some(cursor),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    let mut expected: Vec<String> = names.iter().map(|n| format!("{p}/{n}")).collect();
    expected.sort();
    paged.sort();
    assert_eq!(paged, expected, "every key exactly once across pages");
    assert!(pages >= 3);

    for name in names {
        c.store.delete(&c.key(name)).await.unwrap();
    }
}

/// Exists and delete; deleting what is absent is fine; reads of it are `NotFound`.
pub async fn blob_delete_and_exists(c: BlobContract) {
    let key = c.key("post/2/file.txt");
    assert!(!c.store.exists(&key).await.unwrap());
    assert!(matches!(c.store.head(&key).await, Err(BlobError::NotFound)));
    assert!(matches!(c.store.get(&key).await, Err(BlobError::NotFound)));
    c.put(&key, b"hello", "text/plain").await;
    assert!(c.store.exists(&key).await.unwrap());
    c.store.delete(&key).await.unwrap();
    assert!(!c.store.exists(&key).await.unwrap());
    assert!(matches!(c.store.get(&key).await, Err(BlobError::NotFound)));
    c.store.delete(&key).await.unwrap();
}

/// A body past the size limit, or one whose stream fails, stores nothing and
/// leaves the previous blob at the key intact.
pub async fn blob_refused_uploads_store_nothing(c: BlobContract) {
    let key = c.key("limited");
    let fresh = c.key("never");
    let data = binary(c.large_size);
    let limit = data.len() as u64 - 1;
    let over = c
        .store
        .put(
            &fresh,
            chunked(&data, 65_536),
            PutOptions::new("a/b").with_max_size(limit),
        )
        .await;
    assert!(
        matches!(over, Err(BlobError::TooLarge { limit: l }) if l == limit),
        "{over:?}"
    );
    assert!(!c.store.exists(&fresh).await.unwrap());

    c.put(&key, b"original", "text/plain").await;
    let failing = BlobBody::from_stream(stream::iter([
        Ok(Bytes::from_static(b"partial")),
        Err(BoxError::from("client went away")),
    ]));
    let broken = c.store.put(&key, failing, PutOptions::new("text/plain")).await;
    assert!(
        matches!(&broken, Err(BlobError::Body(e)) if e.to_string() == "client went away"),
        "{broken:?}"
    );
    let declared = c
        .store
        .put(
            &key,
            BlobBody::from_bytes("short"),
            PutOptions::new("text/plain").with_length(6),
        )
        .await;
    assert!(
        matches!(&declared, Err(BlobError::Invalid(e)) if e.field == "length"),
        "{declared:?}"
    );
    let bad_type = c
        .store
        .put(&key, BlobBody::from_bytes("x"), PutOptions::new("nonsense"))
        .await;
    assert!(
        matches!(&bad_type, Err(BlobError::Invalid(e)) if e.field == "content_type"),
        "{bad_type:?}"
    );
    let (info, bytes) = c.read(&key).await;
    assert_eq!(
        (bytes.as_slice(), info.content_type.as_str()),
        (&b"original"[..], "text/plain")
    );
    c.store.delete(&key).await.unwrap();
}
