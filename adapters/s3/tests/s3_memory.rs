//! What an upload holds in memory, counted by the allocator: a body of
//! declared length streams into its parts and holds no part at all; one of
//! unknown length holds at most `multipart_concurrency + 1` part buffers.
//! Both bodies are made on the fly, chunk by chunk, so that the test's own
//! bytes are not counted.
//!
//! One test in this binary (the count is process-wide).

#![allow(clippy::unwrap_used, reason = "test code: a failed unwrap is a failed test")]

mod common;

use bytes::Bytes;
use futures::StreamExt as _;
use peak_alloc::PeakAlloc;
use platform_adapter_s3::{MIN_PART_SIZE, S3BlobStore, S3Settings};
use platform_ports::blob::{BlobBody, BlobKey, BlobStore, PutOptions};
use sha2::{Digest, Sha256};

/// The system allocator, counting the bytes live and the most live since a reset.
#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

const CHUNK: usize = 64 * 1024;
const MIB: usize = 1024 * 1024;

/// `len` bytes in 64 KiB chunks made as they are asked for, and their SHA-256.
fn generated(len: usize) -> (BlobBody, String) {
    let chunk = move |i: usize| -> Vec<u8> {
        let size = CHUNK.min(len - i * CHUNK);
        (0..size).map(|j| ((i * 31 + j * 7) % 251) as u8).collect()
    };
    let count = len.div_ceil(CHUNK);
    let mut hasher = Sha256::new();
    for i in 0..count {
        hasher.update(chunk(i));
    }
    let stream = futures::stream::iter(0..count).map(move |i| Ok::<_, std::io::Error>(Bytes::from(chunk(i))));
    (BlobBody::from_stream(stream), hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes allocated at the peak of one upload, above what was live before it.
async fn peak_of(store: &S3BlobStore, key: &str, len: usize, declared: bool) -> usize {
    let (body, sha256) = generated(len);
    let mut options = PutOptions::new("application/octet-stream");
    if declared {
        options = options.with_length(len as u64);
    }
    let key = BlobKey::parse(key).unwrap();
    ALLOCATOR.reset_peak_usage();
    let before = ALLOCATOR.current_usage();
    let info = store.put(&key, body, options).await.unwrap();
    let peak = ALLOCATOR.peak_usage().saturating_sub(before);
    eprintln!("{key}: {len} bytes, declared length: {declared}, peak allocated during the upload: {peak} bytes");
    assert_eq!((info.size, info.sha256.as_deref()), (len as u64, Some(sha256.as_str())));
    assert_eq!(store.head(&key).await.unwrap().size, len as u64);
    store.delete(&key).await.unwrap();
    peak
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_hold_no_part_when_the_length_is_declared_and_a_few_otherwise() {
    let Some(store) = common::fresh_store("memory").await else {
        return;
    };
    let part = usize::try_from(MIN_PART_SIZE).unwrap();
    let len = 6 * part + 12_345;
    // The client's first connection and its buffers, outside the count.
    peak_of(&store, "warm", 64 * 1024, true).await;

    let streamed = peak_of(&store, "declared.bin", len, true).await;
    assert!(
        streamed < 2 * MIB,
        "a declared-length upload of {len} bytes peaked at {streamed} allocated bytes"
    );

    for concurrency in [1, 2] {
        let store = S3BlobStore::new(S3Settings {
            multipart_concurrency: concurrency,
            ..common::settings(store.bucket().name().as_str())
        })
        .unwrap();
        let buffered = peak_of(&store, "unknown.bin", len, false).await;
        let allowed = (concurrency + 1) * part + 2 * MIB;
        assert!(
            buffered < allowed,
            "an upload of unknown length with {concurrency} part(s) in flight peaked at {buffered} bytes (allowed {allowed})"
        );
        // And not less than one part: it does buffer.
        assert!(buffered >= part, "{buffered}");
    }
    common::drop_bucket(&store).await;
}
