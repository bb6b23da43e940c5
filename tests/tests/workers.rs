//! `platform worker` processes on the real Redis (a failure under `CI=true`
//! when Redis is missing): a task whose worker is killed with `kill -9` is
//! completed by another worker once its lease expires; SIGTERM lets a task
//! in hand finish, or gives it back when it outlasts the shutdown timeout;
//! two instances running one cron schedule enqueue one task per tick; and
//! the registration mail waits in Redis across a restart (PostgreSQL + Redis).
//!
//! The long task is a real one, `notify:sms`, sent to a fake Twilio that
//! holds the first request of a message for as long as the message asks.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use platform_adapter_redis_queue::{RedisQueue, RedisQueueSettings};
use platform_ports::jobs::{JobAdmin, JobId, JobInfo, JobQueue, JobState, NewJob};
use platform_ports::model::{PageRequest, SecretString};
use platform_tests::TestApp;
use platform_tests::process::{PlatformProcess, RedisDb, postgres_dsn, redis_url, skip_or_fail};

/// The bodies of the SMS the fake Twilio received, in order.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<String>>>);

impl Received {
    fn count(&self, needle: &str) -> usize {
        self.0.lock().unwrap().iter().filter(|b| b.contains(needle)).count()
    }

    async fn wait_for(&self, needle: &str, n: usize, within: Duration) {
        let deadline = Instant::now() + within;
        while self.count(needle) < n {
            assert!(
                Instant::now() < deadline,
                "the fake Twilio got {} request(s) with {needle:?}, expected {n}",
                self.count(needle)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A Twilio-compatible endpoint: a message whose body holds `hold-<ms>`
/// has its first request answered after that long, later ones at once.
async fn fake_twilio() -> (String, Received) {
    let received = Received::default();
    let app = Router::new()
        .route(
            "/{*path}",
            post(|State(received): State<Received>, body: String| async move {
                let text = form_body(&body);
                let first = {
                    let mut all = received.0.lock().unwrap();
                    let first = !all.contains(&text);
                    all.push(text.clone());
                    first
                };
                let hold = text
                    .split_whitespace()
                    .find_map(|word| word.strip_prefix("hold-")?.parse::<u64>().ok());
                if let (true, Some(ms)) = (first, hold) {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
                (StatusCode::CREATED, r#"{"sid":"SM0","status":"queued"}"#)
            }),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), received)
}

/// The `Body` field of a form-encoded Twilio request.
fn form_body(form: &str) -> String {
    form.split('&')
        .find_map(|pair| pair.strip_prefix("Body="))
        .unwrap_or_default()
        .replace('+', " ")
}

/// Settings for a worker on `db` with short leases and loops, sending SMS to `twilio`.
fn worker_env(db: &RedisDb, twilio: &str, shutdown_timeout: &str, mail_dir: &Path) -> Vec<(String, String)> {
    [
        ("SCHEDULER__DRIVER", "redis"),
        ("SCHEDULER__REDIS_URL", db.url.as_str()),
        // Long enough that a worker starved for a few seconds on a loaded
        // CI machine still extends its lease in time (a lapsed lease lets
        // the holder's own recoverer take the task back while it runs).
        ("SCHEDULER__TIMINGS__LEASE", "6s"),
        ("SCHEDULER__TIMINGS__HEARTBEAT_INTERVAL", "500ms"),
        ("SCHEDULER__TIMINGS__RECOVER_INTERVAL", "500ms"),
        ("SCHEDULER__TIMINGS__RECOVER_GRACE", "0s"),
        ("SCHEDULER__TIMINGS__FORWARD_INTERVAL", "200ms"),
        ("SCHEDULER__TIMINGS__TASK_CHECK_INTERVAL", "100ms"),
        ("SCHEDULER__TIMINGS__RETRY_DELAY", "200ms"),
        ("SERVER__SHUTDOWN_TIMEOUT", shutdown_timeout),
        ("SMS__DRIVER", "twilio"),
        ("SMS__TWILIO__ACCOUNT_SID", "AC0123"),
        ("SMS__TWILIO__AUTH_TOKEN", "token-of-the-test"),
        ("SMS__TWILIO__FROM", "+15550000001"),
        ("SMS__TWILIO__BASE_URL", twilio),
        ("SMS__TWILIO__TIMEOUT", "120s"),
        ("MAIL__FILE__DIR", mail_dir.to_str().unwrap()),
    ]
    .into_iter()
    .map(|(k, v)| (format!("PLATFORM__{k}"), v.to_owned()))
    .collect()
}

/// A started worker process (its workers and cron run once it logs so).
fn worker(config_dir: &Path, env: &[(String, String)]) -> PlatformProcess {
    let mut process = PlatformProcess::spawn(config_dir, &["worker"], env);
    process.wait_for_line("worker running", Duration::from_secs(60));
    process
}

fn config_dir() -> PathBuf {
    platform_tests::config_dir()
}

/// The test's own client of the queue in `db`.
fn client(db: &RedisDb) -> RedisQueue {
    RedisQueue::connect(RedisQueueSettings {
        url: SecretString::new(db.url.clone()),
        ..RedisQueueSettings::default()
    })
    .unwrap()
}

/// Enqueues an SMS whose body is `body`, kept an hour after it succeeds.
async fn enqueue_sms(queue: &RedisQueue, body: &str) -> JobId {
    let payload = serde_json::to_vec(&serde_json::json!({"to": "+15550000002", "body": body})).unwrap();
    let job = NewJob::new("notify", "notify:sms", payload)
        .max_retries(3)
        .retain(Duration::from_secs(3600));
    queue.enqueue(job).await.unwrap()
}

async fn wait_for_state(queue: &RedisQueue, id: &JobId, state: JobState, within: Duration) -> JobInfo {
    let deadline = Instant::now() + within;
    loop {
        let info = queue.status(id.clone()).await.unwrap();
        if let Some(info) = info.as_ref().filter(|info| info.state == state) {
            return info.clone();
        }
        assert!(
            Instant::now() < deadline,
            "task {id} not {state:?} within {within:?}: {info:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_of_a_killed_worker_is_completed_by_another_after_its_lease() {
    let Some(db) = RedisDb::lease("kill -9 of a worker").await else {
        return;
    };
    let (twilio, received) = fake_twilio().await;
    let mail = tempfile::tempdir().unwrap();
    let env = worker_env(&db, &twilio, "5s", mail.path());
    let queue = client(&db);

    let mut first = worker(&config_dir(), &env);
    let id = enqueue_sms(&queue, "killed hold-60000").await;
    // The first worker holds it (its request hangs at the fake Twilio).
    received.wait_for("killed", 1, Duration::from_secs(15)).await;
    assert_eq!(queue.status(id.clone()).await.unwrap().unwrap().state, JobState::Active);
    let mut second = worker(&config_dir(), &env);
    first.signal("KILL");
    first.wait_exit(Duration::from_secs(10));

    // The task stayed leased while its worker lived: no recovery before the kill.
    assert!(
        !first.drain().iter().any(|l| l.contains("lease expired")),
        "the first worker lost its lease while it was alive: {:#?}",
        first.drain()
    );

    // The lease (6 s) expires, the second worker's recoverer takes the task
    // back, and the second worker sends it again.
    let info = wait_for_state(&queue, &id, JobState::Completed, Duration::from_secs(40)).await;
    assert_eq!(received.count("killed"), 2);
    assert_eq!(info.retried, 1, "{info:?}");
    // The line travels through a pipe and a reader thread: wait for it
    // rather than reading only what has arrived.
    second.wait_for_line("lease expired", Duration::from_secs(10));
    second.signal("TERM");
    assert!(second.wait_exit(Duration::from_secs(30)).success());
    db.release().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_task_in_hand_finish_within_the_shutdown_timeout() {
    let Some(db) = RedisDb::lease("SIGTERM during a task").await else {
        return;
    };
    let (twilio, received) = fake_twilio().await;
    let mail = tempfile::tempdir().unwrap();
    let queue = client(&db);
    let mut only = worker(&config_dir(), &worker_env(&db, &twilio, "20s", mail.path()));
    let id = enqueue_sms(&queue, "finishing hold-2000").await;
    received.wait_for("finishing", 1, Duration::from_secs(15)).await;
    only.signal("TERM");
    let started = Instant::now();
    assert!(only.wait_exit(Duration::from_secs(40)).success());
    // It waited for the task, not for the whole timeout.
    assert!(started.elapsed() < Duration::from_secs(15), "{:?}", started.elapsed());
    let info = queue.status(id).await.unwrap().unwrap();
    assert_eq!(info.state, JobState::Completed, "{info:?}");
    assert_eq!(received.count("finishing"), 1);
    db.release().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_gives_back_a_task_that_outlasts_the_shutdown_timeout() {
    let Some(db) = RedisDb::lease("SIGTERM during a long task").await else {
        return;
    };
    let (twilio, received) = fake_twilio().await;
    let mail = tempfile::tempdir().unwrap();
    let queue = client(&db);
    let env = worker_env(&db, &twilio, "1s", mail.path());
    let mut first = worker(&config_dir(), &env);
    let id = enqueue_sms(&queue, "outlasting hold-60000").await;
    received.wait_for("outlasting", 1, Duration::from_secs(15)).await;
    first.signal("TERM");
    assert!(first.wait_exit(Duration::from_secs(30)).success());
    // Given back to its queue at once, not left for the recoverer.
    let info = queue.status(id.clone()).await.unwrap().unwrap();
    assert_eq!(info.state, JobState::Pending, "{info:?}");

    let mut second = worker(&config_dir(), &env);
    wait_for_state(&queue, &id, JobState::Completed, Duration::from_secs(20)).await;
    assert_eq!(received.count("outlasting"), 2);
    second.signal("TERM");
    assert!(second.wait_exit(Duration::from_secs(30)).success());
    db.release().await;
}

/// A copy of the repository's configuration whose `test.yaml` adds `extra`.
fn config_with(extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in ["default.yaml", "test.yaml"] {
        std::fs::copy(config_dir().join(name), dir.path().join(name)).unwrap();
    }
    let test = dir.path().join("test.yaml");
    let mut text = std::fs::read_to_string(&test).unwrap();
    text.push_str(extra);
    std::fs::write(test, text).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_enqueue_one_task_per_cron_tick() {
    let Some(db) = RedisDb::lease("cron on two instances").await else {
        return;
    };
    let (twilio, received) = fake_twilio().await;
    let mail = tempfile::tempdir().unwrap();
    let config = config_with(
        r#"
scheduler:
  cron:
    - name: sms-tick
      spec: "* * * * * *"
      task_type: "notify:sms"
      payload: { to: "+15550000002", body: "tick" }
      queue: notify
"#,
    );
    let env = worker_env(&db, &twilio, "5s", mail.path());
    let mut a = worker(config.path(), &env);
    let mut b = worker(config.path(), &env);
    tokio::time::sleep(Duration::from_secs(5)).await;
    for p in [&a, &b] {
        p.signal("TERM");
    }
    assert!(a.wait_exit(Duration::from_secs(30)).success());
    assert!(b.wait_exit(Duration::from_secs(30)).success());

    // Every tick's task, in any state: ids are `cron:sms-tick:<unix seconds>`.
    let queue = client(&db);
    let mut ticks = Vec::new();
    let mut completed = 0;
    for state in JobState::ALL {
        let page = queue
            .jobs("notify", state, PageRequest::new(Some(200), None).unwrap())
            .await
            .unwrap();
        for job in page.items {
            let tick: i64 = job.id.as_str().strip_prefix("cron:sms-tick:").unwrap().parse().unwrap();
            ticks.push(tick);
            completed += usize::from(state == JobState::Completed);
        }
    }
    ticks.sort_unstable();
    assert!(ticks.len() >= 4, "only {} ticks in 5 s: {ticks:?}", ticks.len());
    // One task per second, none missing, none twice.
    let expected: Vec<i64> = (ticks[0]..=ticks[ticks.len() - 1]).collect();
    assert_eq!(ticks, expected);
    // And each completed tick was sent once.
    assert_eq!(received.count("tick"), completed);
    db.release().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registration_mail_waits_in_redis_across_a_restart() {
    let test = "registration mail across a restart";
    let overrides = [
        ("PLATFORM__DATABASE__DRIVER", "postgres".to_owned()),
        ("PLATFORM__DATABASE__DSN", postgres_dsn()),
        ("PLATFORM__SCHEDULER__DRIVER", "redis".to_owned()),
        ("PLATFORM__REDIS__URL", redis_url()),
        // This instance only enqueues: the mail cannot leave before the restart.
        ("PLATFORM__SCHEDULER__WORKERS", "false".to_owned()),
    ];
    let overrides: Vec<(&str, &str)> = overrides.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut first = match TestApp::spawn_with_overrides(&overrides).await {
        Ok(app) => app,
        Err(err) => return skip_or_fail(test, &format!("PostgreSQL or Redis is not reachable: {err:#}")),
    };
    let to = "restart@example.com";
    first.register(to, "correct-horse-battery").await.unwrap();
    let admin = first.admin_token().await.unwrap();
    let mail_queue = platform_tests::expect_json(first.get_as(&admin, "jobs/queues/mail").await.unwrap(), 200)
        .await
        .unwrap();
    assert_eq!(mail_queue["pending"], 1, "{mail_queue}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(first.mails_to(to).await.unwrap().is_empty());
    first.begin_stop().unwrap().await.unwrap().unwrap();

    // Restarted with workers: the mail enqueued before the restart leaves.
    let second = TestApp::spawn_sharing_with(&first, |s| s.scheduler.workers = true)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mails = second.mails_to(to).await.unwrap();
        if !mails.is_empty() {
            assert_eq!(mails.len(), 1);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the queued registration mail was not sent after the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    second.stop().await.unwrap();
    drop(first);
}
