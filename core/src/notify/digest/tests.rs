//! The digest over fakes of its ports: who is mailed, what each mail lists,
//! and what a re-run of a period does.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use platform_ports::blog::{Post, PostFilter, PostRepository, PostStatus};
use platform_ports::clock::MockClock;
use platform_ports::identity::{DigestRecipient, PasswordHash, User, UserFilter, UserRepository};
use platform_ports::jobs::{CronJob, JobError, JobHandler, JobId, JobInfo, JobQueue, NewJob, SkipRetry};
use platform_ports::model::{Email, Page, PageRequest, PostId, TenantId, UserId};
use platform_ports::persistence::{MockUnitOfWork, Transaction, UnitOfWork};
use platform_ports::testing::FakeTx;
use platform_ports::{BoxError, StoreError};
use uuid::Uuid;

use super::*;
use crate::notify::MailJob;

const T1: TenantId = TenantId(Uuid::from_u128(1));
const T2: TenantId = TenantId(Uuid::from_u128(2));

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap()
}

/// Monday 23 November to Monday 30 November 2026, 08:00.
fn week() -> DigestPeriod {
    DigestPeriod::new(at(23, 8), at(30, 8)).unwrap()
}

fn user(tenant: TenantId, n: u128, email: &str, digest: bool) -> User {
    User {
        id: UserId(Uuid::from_u128(n)),
        tenant_id: tenant,
        email: Email::parse(email).unwrap(),
        display_name: Some(format!("User {n}")),
        password_hash: PasswordHash("$argon2id$fake".to_owned()),
        email_verified: true,
        digest,
        created_at: at(1, 0),
        updated_at: at(1, 0),
    }
}

fn post(tenant: TenantId, n: u128, author: u128, status: PostStatus, published: DateTime<Utc>) -> Post {
    Post {
        id: PostId(Uuid::from_u128(n)),
        tenant_id: tenant,
        author_id: UserId(Uuid::from_u128(author)),
        title: format!("Post {n}"),
        content: "body".to_owned(),
        status,
        tags: Vec::new(),
        created_at: published,
        updated_at: published,
        published_at: Some(published),
    }
}

fn unused<T>() -> Result<T, StoreError> {
    Err(StoreError::backend("not used by the digest"))
}

/// Users with their digest bookkeeping.
#[derive(Default)]
struct FakeUsers {
    rows: Mutex<Vec<(User, Option<DateTime<Utc>>)>>,
    /// Fails `record_digest` (a crash between enqueue and record).
    fail_record: Mutex<bool>,
}

impl FakeUsers {
    fn with(users: Vec<User>) -> Self {
        Self {
            rows: Mutex::new(users.into_iter().map(|u| (u, None)).collect()),
            fail_record: Mutex::new(false),
        }
    }

    fn last_period(&self, id: u128) -> Option<DateTime<Utc>> {
        let rows = self.rows.lock().unwrap();
        rows.iter().find(|(u, _)| u.id.0.as_u128() == id).and_then(|(_, p)| *p)
    }
}

#[async_trait]
impl UserRepository for FakeUsers {
    async fn find_by_id(&self, tenant: TenantId, id: UserId) -> Result<Option<User>, StoreError> {
        let rows = self.rows.lock().unwrap();
        Ok(rows
            .iter()
            .map(|(u, _)| u)
            .find(|u| u.tenant_id == tenant && u.id == id)
            .cloned())
    }
    async fn find_by_email(&self, _: TenantId, _: &Email) -> Result<Option<User>, StoreError> {
        unused()
    }
    async fn list(&self, _: TenantId, _: &UserFilter, _: &PageRequest) -> Result<Page<User>, StoreError> {
        unused()
    }
    async fn create(&self, _: &mut Transaction, _: &User) -> Result<(), StoreError> {
        unused()
    }
    async fn update(&self, _: &mut Transaction, _: &User) -> Result<(), StoreError> {
        unused()
    }
    async fn delete(&self, _: &mut Transaction, _: TenantId, _: UserId) -> Result<(), StoreError> {
        unused()
    }
    async fn digest_tenants(&self) -> Result<Vec<TenantId>, StoreError> {
        let mut tenants: Vec<TenantId> = self
            .rows
            .lock()
            .unwrap()
            .iter()
            .filter(|(u, _)| u.digest)
            .map(|(u, _)| u.tenant_id)
            .collect();
        tenants.sort_unstable();
        tenants.dedup();
        Ok(tenants)
    }
    async fn digest_recipients(
        &self,
        tenant: TenantId,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<DigestRecipient>, StoreError> {
        let mut rows: Vec<DigestRecipient> = self
            .rows
            .lock()
            .unwrap()
            .iter()
            .filter(|(u, _)| u.tenant_id == tenant && u.digest && after.is_none_or(|a| u.id > a))
            .map(|(u, p)| DigestRecipient {
                user: u.clone(),
                last_period_end: *p,
            })
            .collect();
        rows.sort_by_key(|r| r.user.id);
        rows.truncate(limit as usize);
        Ok(rows)
    }
    async fn record_digest(
        &self,
        _: &mut Transaction,
        tenant: TenantId,
        id: UserId,
        period_end: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if *self.fail_record.lock().unwrap() {
            return Err(StoreError::backend("the database went away"));
        }
        let mut rows = self.rows.lock().unwrap();
        let (_, period) = rows
            .iter_mut()
            .find(|(u, _)| u.tenant_id == tenant && u.id == id)
            .ok_or(StoreError::NotFound)?;
        *period = Some(period.map_or(period_end, |p| p.max(period_end)));
        Ok(())
    }
}

struct FakePosts(Vec<Post>);

#[async_trait]
impl PostRepository for FakePosts {
    async fn find_by_id(&self, _: TenantId, _: PostId) -> Result<Option<Post>, StoreError> {
        unused()
    }
    async fn list(&self, _: TenantId, _: &PostFilter, _: &PageRequest) -> Result<Page<Post>, StoreError> {
        unused()
    }
    async fn create(&self, _: &mut Transaction, _: &Post) -> Result<(), StoreError> {
        unused()
    }
    async fn update(&self, _: &mut Transaction, _: &Post) -> Result<(), StoreError> {
        unused()
    }
    async fn delete(&self, _: &mut Transaction, _: TenantId, _: PostId) -> Result<(), StoreError> {
        unused()
    }
    async fn published_between(
        &self,
        tenant: TenantId,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Post>, StoreError> {
        let mut posts: Vec<Post> = self
            .0
            .iter()
            .filter(|p| {
                p.tenant_id == tenant
                    && p.status == PostStatus::Published
                    && p.published_at.is_some_and(|t| t > after && t <= until)
            })
            .cloned()
            .collect();
        posts.sort_by_key(|p| (p.published_at, p.id));
        posts.truncate(limit as usize);
        Ok(posts)
    }
}

/// A queue that keeps what was enqueued and refuses a taken id, as the real ones do.
#[derive(Default)]
struct FakeQueue(Mutex<Vec<NewJob>>);

impl FakeQueue {
    fn jobs(&self) -> Vec<NewJob> {
        self.0.lock().unwrap().clone()
    }

    fn mails(&self) -> Vec<TemplateMailJob> {
        self.jobs()
            .iter()
            .filter(|j| j.task_type == MAIL_TASK_TYPE)
            .map(|j| match MailJob::decode(&j.payload).unwrap() {
                MailJob::Template(t) => t,
                MailJob::Message(m) => panic!("a digest is rendered by the worker, got {m:?}"),
            })
            .collect()
    }
}

#[async_trait]
impl JobQueue for FakeQueue {
    async fn enqueue(&self, job: NewJob) -> Result<JobId, JobError> {
        let mut jobs = self.0.lock().unwrap();
        let id = job.id.clone().unwrap_or_default();
        if jobs.iter().any(|j| j.id.as_ref() == Some(&id)) {
            return Err(JobError::IdConflict(id));
        }
        jobs.push(job);
        Ok(id)
    }
    async fn status(&self, _: JobId) -> Result<Option<JobInfo>, JobError> {
        Ok(None)
    }
    fn register(&self, _: &str, _: Arc<dyn JobHandler>) -> Result<(), JobError> {
        Ok(())
    }
}

fn uow() -> Arc<dyn UnitOfWork> {
    let mut uow = MockUnitOfWork::new();
    uow.expect_begin().returning(|| Ok(Transaction::new(FakeTx::new())));
    Arc::new(uow)
}

struct World {
    users: Arc<FakeUsers>,
    queue: Arc<FakeQueue>,
    digest: DigestManager,
}

fn world(users: Vec<User>, posts: Vec<Post>) -> World {
    let users = Arc::new(FakeUsers::with(users));
    let queue = Arc::new(FakeQueue::default());
    let settings = DigestSettings {
        public_url: "https://app.test/".to_owned(),
        ..DigestSettings::default()
    };
    let digest = DigestManager::new(
        users.clone(),
        Arc::new(FakePosts(posts)),
        queue.clone(),
        uow(),
        settings,
    )
    .unwrap();
    World { users, queue, digest }
}

/// Two opted-in users and one who did not, in T1; one opted-in user in T2.
fn tenants() -> Vec<User> {
    vec![
        user(T1, 10, "ada@example.com", true),
        user(T1, 11, "alan@example.com", false),
        user(T1, 12, "grace@example.com", true),
        user(T2, 20, "zoe@example.com", true),
    ]
}

fn titles(mail: &TemplateMailJob) -> Vec<String> {
    mail.data["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn one_tick_mails_the_opted_in_users_their_tenants_new_posts_once() {
    let posts = vec![
        post(T1, 1, 11, PostStatus::Published, at(24, 9)),
        post(T1, 2, 10, PostStatus::Published, at(27, 16)),
        // Before the period, a draft, after the tick, another tenant's.
        post(T1, 3, 10, PostStatus::Published, at(20, 9)),
        post(T1, 4, 10, PostStatus::Draft, at(25, 9)),
        post(T1, 5, 10, PostStatus::Published, at(30, 9)),
        post(T2, 6, 20, PostStatus::Published, at(25, 9)),
    ];
    let w = world(tenants(), posts);

    let report = w.digest.send(week()).await.unwrap();

    assert_eq!(report.queued, 3);
    let mails = w.queue.mails();
    let to: Vec<&str> = mails.iter().map(|m| m.to.address.as_str()).collect();
    assert_eq!(to, ["ada@example.com", "grace@example.com", "zoe@example.com"]);
    for mail in &mails[..2] {
        assert_eq!(mail.template, "digest");
        assert_eq!(titles(mail), ["Post 1", "Post 2"]);
    }
    assert_eq!(titles(&mails[2]), ["Post 6"]);
    let first = &mails[0].data;
    assert_eq!(first["name"], "User 10");
    assert_eq!(first["since"], "2026-11-23 08:00 UTC");
    assert_eq!(first["link"], "https://app.test/settings");
    assert_eq!(
        first["posts"][0]["url"],
        format!("https://app.test/blog/posts/{}", Uuid::from_u128(1))
    );
    assert_eq!(first["posts"][0]["author"], "User 11");
    // One job per recipient, each with its per-period id, kept after it runs.
    let ids: Vec<String> = w
        .queue
        .jobs()
        .iter()
        .map(|j| j.id.clone().unwrap().as_str().to_owned())
        .collect();
    assert_eq!(
        ids[0],
        format!("digest:{}:{}", Uuid::from_u128(10), at(30, 8).timestamp())
    );
    assert!(w.queue.jobs().iter().all(|j| j.retention == Some(DIGEST_JOB_RETENTION)));
    assert_eq!(w.users.last_period(10), Some(at(30, 8)));
    assert_eq!(w.users.last_period(11), None);
}

#[tokio::test]
async fn a_second_run_of_the_same_period_sends_nothing() {
    let w = world(tenants(), vec![post(T1, 1, 10, PostStatus::Published, at(24, 9))]);
    w.digest.send(week()).await.unwrap();

    let again = w.digest.send(week()).await.unwrap();

    assert_eq!(again.queued, 0);
    assert_eq!(again.already_sent, 2);
    assert_eq!(w.queue.mails().len(), 2);
}

#[tokio::test]
async fn a_run_that_stopped_before_recording_is_not_mailed_twice() {
    let w = world(tenants(), vec![post(T1, 1, 10, PostStatus::Published, at(24, 9))]);
    *w.users.fail_record.lock().unwrap() = true;
    assert!(matches!(w.digest.send(week()).await, Err(DigestError::Store(_))));
    assert_eq!(w.queue.mails().len(), 1);
    assert_eq!(w.users.last_period(10), None);

    *w.users.fail_record.lock().unwrap() = false;
    let retry = w.digest.send(week()).await.unwrap();

    // Ada's mail was queued by the first run: its id is taken, so the
    // retry records her period and queues Grace's only.
    assert_eq!((retry.queued, retry.already_sent), (1, 1));
    let to: Vec<String> = w.queue.mails().iter().map(|m| m.to.address.clone()).collect();
    assert_eq!(to, ["ada@example.com", "grace@example.com"]);
    assert_eq!(w.users.last_period(10), Some(at(30, 8)));
}

#[tokio::test]
async fn nothing_is_sent_when_nothing_is_new_and_nothing_is_recorded() {
    let w = world(tenants(), vec![post(T1, 1, 10, PostStatus::Draft, at(24, 9))]);

    let report = w.digest.send(week()).await.unwrap();

    assert_eq!(report.queued, 0);
    assert_eq!(report.nothing_new, 3);
    assert!(w.queue.jobs().is_empty());
    assert_eq!(w.users.last_period(10), None);
}

#[tokio::test]
async fn the_next_period_lists_only_what_came_since_the_last_digest() {
    let posts = vec![
        post(T1, 1, 10, PostStatus::Published, at(24, 9)),
        post(T1, 2, 10, PostStatus::Published, at(30, 9)),
    ];
    let w = world(vec![user(T1, 10, "ada@example.com", true)], posts);
    w.digest.send(week()).await.unwrap();

    let next = DigestPeriod::new(at(30, 8), Utc.with_ymd_and_hms(2026, 12, 7, 8, 0, 0).unwrap()).unwrap();
    w.digest.send(next).await.unwrap();

    let mails = w.queue.mails();
    assert_eq!(mails.len(), 2);
    assert_eq!(titles(&mails[1]), ["Post 2"]);
    // A late re-run of the earlier period does not move the record back.
    w.digest.send(week()).await.unwrap();
    assert_eq!(w.queue.mails().len(), 2);
    assert_eq!(w.users.last_period(10), Some(next.end));
}

#[test]
fn a_tick_closes_the_period_since_the_tick_before() {
    let schedule = DigestSchedule::parse("0 0 8 * * MON").unwrap();
    // Wednesday 2 December: the last tick was Monday 30 November.
    let period = schedule
        .period_at(Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap())
        .unwrap();
    assert_eq!(period, week());
    // At the tick itself, and a little after it (a late run), the same period.
    assert_eq!(schedule.period_at(at(30, 8)), Some(week()));
    assert_eq!(schedule.period_at(at(30, 8) + Duration::minutes(3)), Some(week()));
}

#[test]
fn a_bad_schedule_is_refused_with_its_reason() {
    let err = DigestSchedule::parse("every monday").unwrap_err();
    assert!(err.contains("every monday"), "{err}");
    let off = DigestSettings {
        enabled: false,
        schedule: "nonsense".to_owned(),
        ..DigestSettings::default()
    };
    // Disabled: the schedule is not read.
    assert!(DigestManager::parameters(off).unwrap().schedule.is_none());
    assert!(DigestSchedule::parse("0 0 30 2 *").is_err());
}

fn clock_at(now: DateTime<Utc>) -> Arc<MockClock> {
    let mut clock = MockClock::new();
    clock.expect_now().return_const(now);
    Arc::new(clock)
}

#[tokio::test]
async fn the_cron_queues_one_tick_job_per_period() {
    let w = world(tenants(), Vec::new());
    let digest: Arc<dyn DigestService> = Arc::new(w.digest);
    let cron = DigestCron::new(
        digest.clone(),
        w.queue.clone(),
        clock_at(at(30, 8) + Duration::seconds(1)),
    );

    cron.run().await.unwrap();
    cron.run().await.unwrap();

    let jobs = w.queue.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].task_type, DIGEST_TASK_TYPE);
    assert_eq!(
        jobs[0].id.as_ref().unwrap().as_str(),
        format!("digest:tick:{}", at(30, 8).timestamp())
    );
    let period: DigestPeriod = serde_json::from_slice(&jobs[0].payload).unwrap();
    assert_eq!(period, week());
}

#[tokio::test]
async fn the_tick_job_sends_its_period_and_refuses_a_bad_payload_for_good() {
    let w = world(tenants(), vec![post(T1, 1, 10, PostStatus::Published, at(24, 9))]);
    let handler = DigestTickHandler::new(Arc::new(w.digest));
    handler.handle(&serde_json::to_vec(&week()).unwrap()).await.unwrap();
    assert_eq!(w.queue.mails().len(), 2);

    let backwards = serde_json::json!({ "start": at(30, 8), "end": at(23, 8) });
    for payload in [b"{}".to_vec(), serde_json::to_vec(&backwards).unwrap()] {
        let err: BoxError = handler.handle(&payload).await.unwrap_err();
        assert!(err.downcast_ref::<SkipRetry>().is_some(), "{err}");
    }
}
