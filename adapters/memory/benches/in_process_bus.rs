//! The in-process bus's publish → handle rate against a bare tokio channel
//! carrying the same events to one task, both in the same run, on a
//! current-thread and a 2-worker runtime.
//!
//! `cargo bench -p platform-adapter-memory --bench in_process_bus`;
//! `BENCH_MEMORY_EVENTS` (default 1000000) sizes the runs.

#![allow(clippy::unwrap_used, clippy::cast_precision_loss, reason = "a benchmark binary")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use platform_adapter_memory::{InProcessBusSettings, InProcessEventBus};
use platform_ports::BoxError;
use platform_ports::events::{Event, EventBus, EventHandler};
use platform_ports::model::TenantId;
use tokio::sync::Notify;

fn count(var: &str, default: usize) -> usize {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn events(n: usize) -> Vec<Event> {
    (0..n)
        .map(|i| {
            Event::new(
                "blog.post.published",
                "blog",
                TenantId::DEFAULT,
                serde_json::json!({ "post": i, "title": "A title of a typical length", "tags": ["rust", "kafka"] }),
            )
            .with_aggregate(format!("post-{}", i % 64))
        })
        .collect()
}

fn report(name: &str, n: usize, elapsed: Duration) -> f64 {
    let r = n as f64 / elapsed.as_secs_f64();
    println!(
        "{name:<46} {n:>8} events in {:>8.3} s = {r:>12.0} events/s",
        elapsed.as_secs_f64()
    );
    r
}

/// Counts handled events and wakes the benchmark at the last one.
struct Counter {
    handled: AtomicU64,
    target: u64,
    done: Notify,
}

#[async_trait]
impl EventHandler for Counter {
    async fn handle(&self, _: &Event) -> Result<(), BoxError> {
        if self.handled.fetch_add(1, Ordering::Relaxed) + 1 == self.target {
            self.done.notify_one();
        }
        Ok(())
    }
}

async fn in_process(runtime: &str) {
    println!("in-process bus on a {runtime} tokio runtime");
    let n = count("BENCH_MEMORY_EVENTS", 1_000_000);
    let events = events(n.min(10_000));
    let nth = |i: usize| &events[i % events.len()];

    // What `publish(&Event)` cannot avoid: copying the event into an `Arc`.
    let started = Instant::now();
    let mut kept = 0usize;
    for i in 0..n {
        kept += Arc::strong_count(&std::hint::black_box(Arc::new(nth(i).clone())));
    }
    assert_eq!(kept, n);
    report("Event clone into an Arc only", n, started.elapsed());

    // Baseline: the same events, cloned into an `Arc` and sent through a
    // bounded tokio channel to one receiving task.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Arc<Event>>(1024);
    let receiver = tokio::spawn(async move {
        let mut seen = 0usize;
        while rx.recv().await.is_some() {
            seen += 1;
        }
        seen
    });
    let started = Instant::now();
    for i in 0..n {
        tx.send(Arc::new(nth(i).clone())).await.unwrap();
    }
    drop(tx);
    assert_eq!(receiver.await.unwrap(), n);
    let channel = report("tokio channel send -> recv (baseline)", n, started.elapsed());

    let bus = InProcessEventBus::new(InProcessBusSettings::default());
    let counter = Arc::new(Counter {
        handled: AtomicU64::new(0),
        target: n as u64,
        done: Notify::new(),
    });
    bus.subscribe("bench.memory", "counter", counter.clone()).await.unwrap();
    let started = Instant::now();
    for i in 0..n {
        bus.publish("bench.memory", nth(i)).await.unwrap();
    }
    if counter.handled.load(Ordering::Relaxed) < n as u64 {
        counter.done.notified().await;
    }
    let ours = report("InProcessEventBus publish -> handle", n, started.elapsed());
    println!(
        "  ratio bus/channel: {:.1} % (target: bus >= 1000000 events/s)",
        ours / channel * 100.0
    );
    bus.close(Duration::from_secs(10)).await.unwrap();
}

fn main() {
    // `cargo bench` passes `--bench`; this binary takes no other arguments.
    println!("(figures taken on a shared machine: other builds may run meanwhile)");
    // One thread: publisher and handler take turns, no cross-thread wake-ups.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(in_process("current-thread"));
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(in_process("2-worker multi-thread"));
}
