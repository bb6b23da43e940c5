//! The trace context through the Redis queue: a job made in a request's
//! span carries the enqueue span's `traceparent` as an asynq task header,
//! and the worker runs the handler inside a span that continues it. A
//! recording propagator stands in for OpenTelemetry (its own test binary:
//! the propagator is process-wide).

// clippy's allow-unwrap-in-tests does not reach the helpers of a test binary.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use common::TestDb;
use platform_ports::BoxError;
use platform_ports::jobs::{JobHandler, JobQueue, NewJob};
use platform_ports::lifecycle::BackgroundService;
use platform_ports::testing::RecordingPropagator;
use tokio::sync::mpsc;

/// Reports the span each job runs in.
struct SpanReporter(mpsc::UnboundedSender<Option<u64>>);

#[async_trait]
impl JobHandler for SpanReporter {
    async fn handle(&self, _: &[u8]) -> Result<(), BoxError> {
        let _ = self.0.send(tracing::Span::current().id().map(|id| id.into_u64()));
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_enqueue_spans_traceparent_travels_in_a_task_header_to_the_workers_span() {
    let Some(db) = TestDb::claim("the_enqueue_spans_traceparent_travels_in_a_task_header_to_the_workers_span").await
    else {
        return;
    };
    let recorder = RecordingPropagator::install();
    // Spans need a subscriber to have ids; this binary has no other test.
    tracing::subscriber::set_global_default(tracing_subscriber::registry()).unwrap();
    let queue = common::queue(&db, "traced");
    let (tx, mut ran) = mpsc::unbounded_channel();
    queue.register("trace:report", Arc::new(SpanReporter(tx))).unwrap();

    let request = tracing::info_span!("request");
    let job = request.in_scope(|| NewJob::new("traced", "trace:report", b"{}".to_vec()));
    assert_eq!(
        job.trace_parent,
        RecordingPropagator::traceparent_of(&request),
        "the job carries the span it was made in"
    );
    let id = queue.enqueue(job.clone()).await.unwrap();

    // The task as asynq stores it: the header names the enqueue span, a
    // child of the request's span, not the request's span itself.
    let mut raw = db.raw().await;
    let message: Vec<u8> = deadpool_redis::redis::cmd("HGET")
        .arg(format!("asynq:{{traced}}:t:{id}"))
        .arg("msg")
        .query_async(&mut raw)
        .await
        .unwrap();
    // Field 15: asynq's `headers` map, entries of (1: key, 2: value).
    let fields = common::decode(&message);
    let header = fields
        .get(&15)
        .into_iter()
        .flatten()
        .map(common::Field::message)
        .find(|entry| common::one(entry, 1).text() == "traceparent")
        .map(|entry| common::one(&entry, 2).text().to_owned())
        .expect("no traceparent task header");
    assert_ne!(Some(header.as_str()), job.trace_parent.as_deref());

    let workers = queue.workers();
    workers.start().await.unwrap();
    let worker_span = tokio::time::timeout(Duration::from_secs(30), ran.recv())
        .await
        .expect("the job did not run within 30 s")
        .unwrap();
    workers.stop().await.unwrap();
    let adopted = recorder.adopted();
    assert!(
        adopted
            .iter()
            .any(|(span, traceparent)| *traceparent == header && *span == worker_span && span.is_some()),
        "the handler's span {worker_span:?} did not continue {header}: {adopted:?}"
    );
}
