//! Upload and download throughput of a 64 MB object through [`S3BlobStore`]
//! against the same rust-s3 `Bucket` calls made directly, in the same run and
//! against the same server (`PLATFORM_TEST_S3_ENDPOINT`, SeaweedFS from
//! `.ci/services/s3.sh`). Reports MB/s and the adapter-to-direct ratio; asserts
//! nothing. Run: `cargo bench -p platform-adapter-s3 --bench s3_throughput`.
//!
//! Both sides use the same part size (rust-s3's fixed 8 MiB, which the
//! adapter's threshold is set to) so the comparison measures the adapter, not
//! a different part size. Rounds alternate (direct, adapter, direct, ...) to
//! spread the noise of a shared machine evenly; the median of each is shown.

#![allow(clippy::unwrap_used, reason = "benchmark code: a failure aborts the run")]

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt as _;
use platform_adapter_s3::{S3BlobStore, S3Settings};
use platform_contract::blob::binary;
use platform_ports::blob::{BlobBody, BlobKey, BlobStore, PutOptions};
use platform_ports::model::SecretString;

const SIZE: usize = 64 * 1024 * 1024;
const ROUNDS: usize = 5;
/// Chunks as an HTTP server hands a request body over.
const CHUNK: usize = 64 * 1024;

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn chunks(data: &Bytes) -> BlobBody {
    let parts: Vec<Result<Bytes, std::io::Error>> = (0..data.len())
        .step_by(CHUNK)
        .map(|start| Ok(data.slice(start..(start + CHUNK).min(data.len()))))
        .collect();
    BlobBody::from_stream(futures::stream::iter(parts))
}

fn mb_per_s(elapsed: Duration) -> f64 {
    SIZE as f64 / 1_000_000.0 / elapsed.as_secs_f64()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let endpoint = env("PLATFORM_TEST_S3_ENDPOINT", "http://127.0.0.1:18333");
    let bucket = format!("bench-{}", std::process::id());
    let settings = S3Settings {
        endpoint: Some(endpoint.clone()),
        access_key: env("PLATFORM_TEST_S3_ACCESS_KEY", "platform-test-access"),
        secret_key: SecretString::new(env("PLATFORM_TEST_S3_SECRET_KEY", "platform-test-secret")),
        path_style: true,
        create_bucket: true,
        multipart_threshold: s3::bucket::CHUNK_SIZE as u64,
        multipart_concurrency: 3,
        ..S3Settings::new(bucket, "us-east-1")
    };
    let store = match S3BlobStore::connect(settings).await {
        Ok(store) => store,
        Err(err) => {
            eprintln!("*** SKIPPED: s3_throughput: S3 not usable at {endpoint} ({err}); start .ci/services/s3.sh ***");
            return;
        }
    };
    let data = Bytes::from(binary(SIZE));
    let direct_key = "bench/direct.bin";
    let adapter_key = BlobKey::parse("bench/adapter.bin").unwrap();
    let (mut direct_up, mut direct_down, mut adapter_up, mut adapter_down) = (vec![], vec![], vec![], vec![]);

    for _ in 0..ROUNDS {
        // Direct: rust-s3's own streaming upload (8 MiB parts, its own concurrency) and streaming GET.
        let started = Instant::now();
        let mut reader: &[u8] = &data;
        store
            .bucket()
            .put_object_stream_with_content_type(&mut reader, direct_key, "application/octet-stream")
            .await
            .unwrap();
        direct_up.push(mb_per_s(started.elapsed()));
        let started = Instant::now();
        let mut stream = store.bucket().get_object_stream(direct_key).await.unwrap();
        let mut received = 0;
        while let Some(chunk) = stream.bytes().next().await {
            received += chunk.unwrap().len();
        }
        assert_eq!(received, SIZE);
        direct_down.push(mb_per_s(started.elapsed()));

        // Through the port: the same bytes as a chunked stream, then a streaming read.
        let started = Instant::now();
        let options = PutOptions::new("application/octet-stream").with_max_size(SIZE as u64);
        store.put(&adapter_key, chunks(&data), options).await.unwrap();
        adapter_up.push(mb_per_s(started.elapsed()));
        let started = Instant::now();
        let mut body = store.get(&adapter_key).await.unwrap().body;
        let mut received = 0;
        while let Some(chunk) = body.next().await {
            received += chunk.unwrap().len();
        }
        assert_eq!(received, SIZE);
        adapter_down.push(mb_per_s(started.elapsed()));
    }

    let (du, dd, au, ad) = (
        median(direct_up),
        median(direct_down),
        median(adapter_up),
        median(adapter_down),
    );
    println!(
        "s3_throughput: 64 MB object, {ROUNDS} alternating rounds, median MB/s (shared machine, figures under load)"
    );
    println!(
        "  upload    direct {du:8.1}   adapter {au:8.1}   adapter/direct {:5.1} %",
        100.0 * au / du
    );
    println!(
        "  download  direct {dd:8.1}   adapter {ad:8.1}   adapter/direct {:5.1} %",
        100.0 * ad / dd
    );

    store.delete(&adapter_key).await.unwrap();
    store.bucket().delete_object(direct_key).await.unwrap();
    store.delete_bucket().await.unwrap();
}
