//! The job queue contract on Redis (`PLATFORM_TEST_REDIS_URL`, default
//! `redis://127.0.0.1:6379`), each check in a database of its own. Without
//! Redis each test prints a loud SKIPPED line, or fails when `CI=true`.

#![allow(clippy::unwrap_used, reason = "test code")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use platform_contract::jobs::{self, JobsUnderTest};

use common::{RETRY_DELAY, TestDb, queue};

macro_rules! redis_jobs_contract {
    ($($check:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let Some(db) = TestDb::claim(stringify!($check)).await else { return };
                let name = format!("contract-{}", stringify!($check));
                let redis = queue(&db, &name);
                jobs::$check(JobsUnderTest {
                    queue: Arc::new(redis.clone()),
                    admin: Arc::new(redis.clone()),
                    workers: Arc::new(redis.workers()),
                    queue_name: name,
                    retry_delay: RETRY_DELAY,
                    // Forwarder (200 ms) and empty-queue polling (up to 150 ms),
                    // on a machine shared with other builds.
                    slack: Duration::from_millis(1500),
                })
                .await;
            }
        )+
    };
}

redis_jobs_contract!(
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
