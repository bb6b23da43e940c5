//! The job queue contract on the in-memory queue, with a short fixed retry
//! delay so retries take milliseconds.

#![allow(clippy::unwrap_used, reason = "test code")]

use std::sync::Arc;
use std::time::Duration;

use platform_adapter_memory::{MemoryJobQueue, MemoryJobQueueSettings};
use platform_contract::jobs::{self, JobsUnderTest};
use platform_ports::jobs::RetryDelay;

const RETRY_DELAY: Duration = Duration::from_millis(300);

fn under_test(name: &str) -> JobsUnderTest {
    let queue = Arc::new(MemoryJobQueue::new(MemoryJobQueueSettings {
        concurrency: 2,
        retry_delay: RetryDelay::fixed(RETRY_DELAY),
        shutdown_timeout: Duration::from_secs(2),
        ..MemoryJobQueueSettings::default()
    }));
    JobsUnderTest {
        queue: queue.clone(),
        admin: queue.clone(),
        workers: queue,
        queue_name: format!("contract-{name}"),
        retry_delay: RETRY_DELAY,
        slack: Duration::from_millis(300),
    }
}

macro_rules! memory_jobs_contract {
    ($($check:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                jobs::$check(under_test(stringify!($check))).await;
            }
        )+
    };
}

memory_jobs_contract!(
    jobs_enqueue_and_run,
    jobs_retry_with_backoff_then_archive,
    jobs_unknown_type_is_retried_then_archived,
    jobs_skip_retry_archives_at_once,
    jobs_unique_rejects_a_duplicate,
    jobs_scheduled_runs_at_its_time,
    jobs_pause_stops_dequeuing,
    jobs_status_by_id,
    jobs_retention_expires,
    jobs_admin_lists_and_manages,
);
