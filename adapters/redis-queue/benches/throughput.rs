//! Throughput of the Redis queue, as ratios to `redis-benchmark -t lpush`
//! measured in the same run on the same server:
//!
//! - enqueue rate (32 concurrent callers of `JobQueue::enqueue`);
//! - end-to-end rate with a no-op handler at concurrency 8 and 32: tasks
//!   already pending, workers started, time until every one is done;
//! - Redis round trips per task (counted by the crate's connection).
//!
//! `cargo bench -p platform-adapter-redis-queue` (needs `redis-benchmark`
//! on PATH and Redis at `PLATFORM_TEST_REDIS_URL`, default 127.0.0.1:6379;
//! `BENCH_TASKS` sets the number of tasks, default 20000). Runs in a Redis
//! database of its own, flushed afterwards.

#![allow(clippy::unwrap_used, reason = "benchmark code")]

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::StreamExt;
use platform_adapter_redis_queue::{ROUND_TRIPS, RedisQueue, RedisQueueSettings};
use platform_ports::BoxError;
use platform_ports::jobs::{JobHandler, JobQueue, NewJob};
use platform_ports::lifecycle::BackgroundService;
use platform_ports::model::SecretString;

struct Count(AtomicU64);

#[async_trait]
impl JobHandler for Count {
    async fn handle(&self, _payload: &[u8]) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// `redis-benchmark -t lpush -q -n 100000` on the same server and database.
fn lpush_rate(db: &common::TestDb) -> f64 {
    let (host, port) = {
        let authority = common::base_url()
            .split("://")
            .nth(1)
            .unwrap_or("127.0.0.1:6379")
            .to_owned();
        let (host, port) = authority.rsplit_once(':').unwrap_or((&authority, "6379"));
        (host.to_owned(), port.to_owned())
    };
    let out = std::process::Command::new("redis-benchmark")
        .args(["-h", &host, "-p", &port, "--dbnum", &db.db.to_string()])
        .args(["-t", "lpush", "-q", "-n", "100000"])
        .output()
        .expect("redis-benchmark on PATH");
    let text = String::from_utf8_lossy(&out.stdout);
    // "LPUSH: 123456.79 requests per second, p50=0.199 msec"
    let rate = text
        .rsplit("LPUSH:")
        .next()
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("cannot read redis-benchmark's output: {text}"));
    println!("redis-benchmark -t lpush -q -n 100000: {rate:.0} requests/s");
    rate
}

fn settings(url: &str, queue: &str, concurrency: usize) -> RedisQueueSettings {
    RedisQueueSettings {
        url: SecretString::new(url),
        concurrency,
        queues: [(queue.to_owned(), 1)].into(),
        ..RedisQueueSettings::default()
    }
}

async fn enqueue_all(q: &RedisQueue, queue: &str, tasks: u64) -> f64 {
    let started = Instant::now();
    let mut results = futures::stream::iter(0..tasks)
        .map(|n| {
            let q = q.clone();
            let job = NewJob::new(queue, "bench:noop", n.to_be_bytes().to_vec());
            async move { q.enqueue(job).await }
        })
        .buffer_unordered(32);
    while let Some(result) = results.next().await {
        result.unwrap();
    }
    tasks as f64 / started.elapsed().as_secs_f64()
}

async fn end_to_end(url: &str, concurrency: usize, tasks: u64) -> (f64, f64) {
    let queue = format!("bench-{concurrency}");
    let q = RedisQueue::connect(settings(url, &queue, concurrency)).unwrap();
    enqueue_all(&q, &queue, tasks).await;
    let done = Arc::new(Count(AtomicU64::new(0)));
    q.register("bench:noop", done.clone()).unwrap();
    let workers = q.workers();
    let trips = ROUND_TRIPS.load(Ordering::Relaxed);
    let started = Instant::now();
    workers.start().await.unwrap();
    while done.0.load(Ordering::Relaxed) < tasks {
        tokio::time::sleep(Duration::from_millis(2)).await;
        assert!(started.elapsed() < Duration::from_secs(600), "not done in 10 minutes");
    }
    let elapsed = started.elapsed();
    // Acknowledgements still in flight are part of the work.
    workers.stop().await.unwrap();
    let per_task = (ROUND_TRIPS.load(Ordering::Relaxed) - trips) as f64 / tasks as f64;
    (tasks as f64 / elapsed.as_secs_f64(), per_task)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; this harness takes no arguments.
    let Some(db) = common::TestDb::claim("bench_throughput").await else {
        return;
    };
    let tasks: u64 = std::env::var("BENCH_TASKS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    println!("machine shared with other builds: figures are noisy; compare ratios within one run");
    let lpush = lpush_rate(&db);

    let q = RedisQueue::connect(settings(&db.url, "bench-enqueue", 1)).unwrap();
    let trips = ROUND_TRIPS.load(Ordering::Relaxed);
    let enqueue = enqueue_all(&q, "bench-enqueue", tasks).await;
    let enqueue_trips = (ROUND_TRIPS.load(Ordering::Relaxed) - trips) as f64 / tasks as f64;
    println!(
        "enqueue ({tasks} tasks, 32 callers): {enqueue:.0} tasks/s = {:.1} % of LPUSH, {enqueue_trips:.2} round trips/task",
        100.0 * enqueue / lpush
    );
    for concurrency in [8, 32] {
        let (rate, trips) = end_to_end(&db.url, concurrency, tasks).await;
        println!(
            "end to end, no-op handler, concurrency {concurrency}: {rate:.0} tasks/s = {:.1} % of LPUSH, {trips:.2} round trips/task (dequeue + ack + heartbeat)",
            100.0 * rate / lpush
        );
    }
}
