//! The digest: on `digest.schedule` (weekly by default), every user who
//! opted in (`digest: true` on their profile) is mailed the posts published
//! in their tenant since their last digest (for a first digest, since the
//! start of the period), with the `digest` template. Nothing is sent to a
//! user with nothing new.
//!
//! A tick runs in two steps, each a job so each is retried:
//! 1. the cron job enqueues one `digest:tick` job for the period its tick
//!    closes (id `digest:tick:<end>`, so the tick is queued once);
//! 2. that job's handler ([`DigestService::send`]) walks the opted-in users
//!    of every tenant and enqueues one `notify:email` job per recipient.
//!
//! Idempotence per period: each recipient's mail job has the id
//! `digest:<user>:<period end>` and is kept for [`DIGEST_JOB_RETENTION`]
//! after it ran, and the period is recorded on the user once the job is
//! queued. A re-run of the same period skips the users it recorded, and a
//! crash between enqueuing and recording meets the id already taken: the
//! mail is queued at most once, and sent at least once by the mail job's
//! retries.

mod schedule;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_ports::blog::{Post, PostRepository};
use platform_ports::clock::Clock;
use platform_ports::identity::{DigestRecipient, UserRepository};
use platform_ports::jobs::{CronJob, JobError, JobHandler, JobId, JobQueue, NewJob, SkipRetry};
use platform_ports::model::{TenantId, UserId};
use platform_ports::notify::Mailbox;
use platform_ports::persistence::UnitOfWork;
use platform_ports::{BoxError, StoreError};
use serde_json::json;
use shaku::{Component, Interface};

pub use schedule::{DigestPeriod, DigestSchedule};

use super::jobs::{MAIL_QUEUE, MAIL_TASK_TYPE, NOTIFY_MAX_RETRIES, TemplateMailJob};
use crate::unit_of_work::run_in_unit;

/// The name of the digest's cron schedule.
pub const DIGEST_CRON: &str = "digest";
/// The task type of a digest tick: `{"start", "end"}` (RFC 3339), the
/// period to mail. Any client may enqueue one to send a period's digest.
pub const DIGEST_TASK_TYPE: &str = "digest:tick";
/// The queue tick jobs wait in.
pub const DIGEST_QUEUE: &str = "default";
/// The template of digest mails.
pub const DIGEST_TEMPLATE: &str = "digest";
/// How long a tick's and a recipient's jobs are kept after they ran: their
/// ids stay taken that long, so a re-run within it enqueues nothing twice.
pub const DIGEST_JOB_RETENTION: Duration = Duration::from_secs(8 * 24 * 3600);

/// Opted-in users read per query.
const RECIPIENT_BATCH: u32 = 200;

/// `digest.*`, and the public URL links are built on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestSettings {
    /// Whether the cron runs (the `digest:tick` handler works either way).
    pub enabled: bool,
    /// The cron expression (UTC).
    pub schedule: String,
    /// At most this many posts per mail (the oldest of the period first).
    pub max_posts: u32,
    /// The front end's base URL (`server.public_url`).
    pub public_url: String,
    /// A post's page under `public_url`; `{id}` is replaced by the post's id.
    pub post_path: String,
    /// The page under `public_url` where a user turns the digest off.
    pub settings_path: String,
}

impl Default for DigestSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            schedule: "0 0 8 * * MON".to_owned(),
            max_posts: 50,
            public_url: "http://localhost:8080".to_owned(),
            post_path: "/blog/posts/{id}".to_owned(),
            settings_path: "/settings".to_owned(),
        }
    }
}

/// What a digest run can fail with; the tick job is retried.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    /// The period or the configuration is unusable.
    #[error("{0}")]
    Invalid(String),
    /// Reading users or posts, or recording a period, failed.
    #[error("digest store failed")]
    Store(#[from] StoreError),
    /// Enqueuing a mail failed.
    #[error("digest could not queue a mail")]
    Queue(#[from] JobError),
}

/// What one run of a period did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DigestReport {
    /// Mails queued by this run.
    pub queued: usize,
    /// Recipients whose mail an earlier run of the period had queued.
    pub already_sent: usize,
    /// Recipients with no post published in their window.
    pub nothing_new: usize,
}

/// The digest use case.
#[async_trait]
pub trait DigestService: Interface {
    /// The schedule, `None` when `digest.enabled` is off.
    fn schedule(&self) -> Option<&DigestSchedule>;

    /// Queues one digest mail per opted-in user with posts published in
    /// their window of `period`; records the period on each.
    ///
    /// # Errors
    /// [`DigestError::Store`] or [`DigestError::Queue`]: a re-run continues
    /// where this one stopped.
    async fn send(&self, period: DigestPeriod) -> Result<DigestReport, DigestError>;
}

/// Implements [`DigestService`] over the user and post repositories and the job queue.
#[derive(Component)]
#[shaku(interface = DigestService)]
pub struct DigestManager {
    #[shaku(inject)]
    users: Arc<dyn UserRepository>,
    #[shaku(inject)]
    posts: Arc<dyn PostRepository>,
    #[shaku(inject)]
    jobs: Arc<dyn JobQueue>,
    #[shaku(inject)]
    uow: Arc<dyn UnitOfWork>,
    #[shaku(default)]
    settings: DigestSettings,
    /// Parsed from `settings.schedule` when enabled.
    #[shaku(default)]
    schedule: Option<DigestSchedule>,
}

impl DigestManager {
    /// The shaku parameters for `settings`.
    ///
    /// # Errors
    /// A message naming the problem when the digest is enabled and its
    /// schedule does not parse.
    pub fn parameters(settings: DigestSettings) -> Result<DigestManagerParameters, String> {
        let schedule = if settings.enabled {
            Some(DigestSchedule::parse(&settings.schedule)?)
        } else {
            None
        };
        Ok(DigestManagerParameters { settings, schedule })
    }

    /// A manager over these ports.
    ///
    /// # Errors
    /// As [`DigestManager::parameters`].
    pub fn new(
        users: Arc<dyn UserRepository>,
        posts: Arc<dyn PostRepository>,
        jobs: Arc<dyn JobQueue>,
        uow: Arc<dyn UnitOfWork>,
        settings: DigestSettings,
    ) -> Result<Self, String> {
        let DigestManagerParameters { settings, schedule } = Self::parameters(settings)?;
        Ok(Self {
            users,
            posts,
            jobs,
            uow,
            settings,
            schedule,
        })
    }

    fn link(&self, path: &str) -> String {
        format!("{}{path}", self.settings.public_url.trim_end_matches('/'))
    }

    /// One tenant's recipients, batch by batch.
    async fn send_tenant(
        &self,
        tenant: TenantId,
        period: DigestPeriod,
        report: &mut DigestReport,
    ) -> Result<(), DigestError> {
        let mut posts = TenantPosts::default();
        let mut after: Option<UserId> = None;
        loop {
            let batch = self.users.digest_recipients(tenant, after, RECIPIENT_BATCH).await?;
            for recipient in &batch {
                self.send_one(tenant, period, recipient, &mut posts, report).await?;
            }
            match batch.last() {
                Some(last) if batch.len() >= RECIPIENT_BATCH as usize => after = Some(last.user.id),
                _ => return Ok(()),
            }
        }
    }

    async fn send_one(
        &self,
        tenant: TenantId,
        period: DigestPeriod,
        recipient: &DigestRecipient,
        posts: &mut TenantPosts,
        report: &mut DigestReport,
    ) -> Result<(), DigestError> {
        let user = &recipient.user;
        if recipient.last_period_end.is_some_and(|last| last >= period.end) {
            report.already_sent += 1;
            return Ok(());
        }
        let since = recipient.last_period_end.unwrap_or(period.start);
        let new_posts = posts.between(self, tenant, since, period.end).await?;
        if new_posts.is_empty() {
            // Not recorded: the next period's window starts at the same
            // point, so a post committed late with an earlier time still counts.
            report.nothing_new += 1;
            return Ok(());
        }
        let mut listed = Vec::with_capacity(new_posts.len());
        for post in new_posts.iter() {
            let author = posts.author(self, tenant, post.author_id).await?;
            listed.push(json!({
                "title": post.title,
                "url": self.link(&self.settings.post_path.replace("{id}", &post.id.0.to_string())),
                "author": author,
                "published_at": post.published_at.map(|at| at.to_rfc3339()),
            }));
        }
        let to: Mailbox = user
            .email
            .as_str()
            .parse()
            .map_err(|e| DigestError::Invalid(format!("user {}: address refused: {e}", user.id)))?;
        let job = TemplateMailJob {
            to,
            template: DIGEST_TEMPLATE.to_owned(),
            data: json!({
                "email": user.email.as_str(),
                "name": user.display_name,
                "since": since.format("%Y-%m-%d %H:%M UTC").to_string(),
                "link": self.link(&self.settings.settings_path),
                "posts": listed,
            }),
            locale: None,
        };
        let payload = serde_json::to_vec(&job).map_err(|e| DigestError::Invalid(e.to_string()))?;
        let id = JobId::parse(format!("digest:{}:{}", user.id, period.end.timestamp()))
            .map_err(|e| DigestError::Invalid(e.to_string()))?;
        let mail = NewJob::new(MAIL_QUEUE, MAIL_TASK_TYPE, payload)
            .max_retries(NOTIFY_MAX_RETRIES)
            .retain(DIGEST_JOB_RETENTION)
            .with_id(id);
        match self.jobs.enqueue(mail).await {
            Ok(_) => report.queued += 1,
            // Queued by a run that stopped before recording the period.
            Err(JobError::IdConflict(_)) => report.already_sent += 1,
            Err(e) => return Err(e.into()),
        }
        let end = period.end;
        run_in_unit(self.uow.as_ref(), DigestError::Store, async |tx| {
            match self.users.record_digest(tx, tenant, user.id, end).await {
                // Deleted since it was listed: nothing left to record.
                Ok(()) | Err(StoreError::NotFound) => Ok(()),
                Err(e) => Err(DigestError::Store(e)),
            }
        })
        .await
    }
}

/// A tenant's posts and authors, read once per run: most recipients share
/// the same window.
#[derive(Default)]
struct TenantPosts {
    windows: HashMap<DateTime<Utc>, Arc<Vec<Post>>>,
    authors: HashMap<UserId, Option<String>>,
}

impl TenantPosts {
    async fn between(
        &mut self,
        manager: &DigestManager,
        tenant: TenantId,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Arc<Vec<Post>>, DigestError> {
        if let Some(posts) = self.windows.get(&since) {
            return Ok(posts.clone());
        }
        let posts = Arc::new(
            manager
                .posts
                .published_between(tenant, since, until, manager.settings.max_posts)
                .await?,
        );
        self.windows.insert(since, posts.clone());
        Ok(posts)
    }

    /// The author's display name (never the address: the mail goes to the
    /// whole tenant's subscribers).
    async fn author(
        &mut self,
        manager: &DigestManager,
        tenant: TenantId,
        id: UserId,
    ) -> Result<Option<String>, DigestError> {
        if let Some(name) = self.authors.get(&id) {
            return Ok(name.clone());
        }
        let name = manager
            .users
            .find_by_id(tenant, id)
            .await?
            .and_then(|user| user.display_name);
        self.authors.insert(id, name.clone());
        Ok(name)
    }
}

#[async_trait]
impl DigestService for DigestManager {
    fn schedule(&self) -> Option<&DigestSchedule> {
        self.schedule.as_ref()
    }

    #[tracing::instrument(skip_all, fields(period_start = %period.start, period_end = %period.end))]
    async fn send(&self, period: DigestPeriod) -> Result<DigestReport, DigestError> {
        let mut report = DigestReport::default();
        for tenant in self.users.digest_tenants().await? {
            self.send_tenant(tenant, period, &mut report).await?;
        }
        tracing::info!(
            queued = report.queued,
            already_sent = report.already_sent,
            nothing_new = report.nothing_new,
            "digest period done"
        );
        Ok(report)
    }
}

/// The cron job: enqueues the `digest:tick` job of the period the tick
/// closes (once per period, whatever the number of instances or runs).
pub struct DigestCron {
    digest: Arc<dyn DigestService>,
    jobs: Arc<dyn JobQueue>,
    clock: Arc<dyn Clock>,
}

impl DigestCron {
    /// A cron job for `digest`, enqueuing on `jobs`.
    #[must_use]
    pub fn new(digest: Arc<dyn DigestService>, jobs: Arc<dyn JobQueue>, clock: Arc<dyn Clock>) -> Self {
        Self { digest, jobs, clock }
    }
}

/// The `digest:tick` job of `period`, with its per-period id.
///
/// # Errors
/// When the payload cannot be encoded.
pub fn tick_job(period: DigestPeriod) -> Result<NewJob, BoxError> {
    let id = JobId::parse(format!("digest:tick:{}", period.end.timestamp()))?;
    Ok(
        NewJob::new(DIGEST_QUEUE, DIGEST_TASK_TYPE, serde_json::to_vec(&period)?)
            .retain(DIGEST_JOB_RETENTION)
            .with_id(id),
    )
}

#[async_trait]
impl CronJob for DigestCron {
    async fn run(&self) -> Result<(), BoxError> {
        let Some(schedule) = self.digest.schedule() else {
            return Ok(());
        };
        // The cron fires at the tick or just after it: the latest tick at or
        // before now is this run's.
        let Some(period) = schedule.period_at(self.clock.now()) else {
            return Ok(());
        };
        match self.jobs.enqueue(tick_job(period)?).await {
            Ok(_) | Err(JobError::IdConflict(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// Runs the `digest:tick` job: the period's digest.
pub struct DigestTickHandler {
    digest: Arc<dyn DigestService>,
}

impl DigestTickHandler {
    /// A handler sending through `digest`.
    #[must_use]
    pub fn new(digest: Arc<dyn DigestService>) -> Self {
        Self { digest }
    }
}

#[async_trait]
impl JobHandler for DigestTickHandler {
    async fn handle(&self, payload: &[u8]) -> Result<(), BoxError> {
        let period = serde_json::from_slice::<DigestPeriod>(payload)
            .map_err(|e| e.to_string())
            .and_then(|p| DigestPeriod::new(p.start, p.end))
            .map_err(|e| Box::new(SkipRetry(format!("`{DIGEST_TASK_TYPE}` payload: {e}"))) as BoxError)?;
        self.digest.send(period).await?;
        Ok(())
    }
}
