//! The manifests of the platform's modules — events (the outbox), identity
//! (with authorization and audit), audit (the tamper-evident chain), notify
//! (mail delivery), jobs (the Jobs API's permissions and mount point), files
//! (uploads over the blob store) — and the Blog
//! example feature, each with the reactions it declares.

use std::sync::Arc;

use platform_core::blog;
use platform_core::files::{self as files_module, OrphanSweep};
use platform_core::identity::events as identity_events;
use platform_core::notify::digest::{DIGEST_CRON, DIGEST_TASK_TYPE, DigestCron, DigestService, DigestTickHandler};
use platform_core::notify::{
    DisabledChannel, MAIL_TASK_TYPE, MailJobHandler, NotifyChannels, PUSH_TASK_TYPE, PushJobHandler, SMS_TASK_TYPE,
    SmsJobHandler,
};
use platform_core::permissions;
use platform_core::support::IDENTITY_TOPIC;
use platform_core::webhooks::{WEBHOOK_TASK_TYPE, WebhookDeliveryJob, WebhookFanout, WebhookRetry};
use platform_ports::audit::Auditor;
use platform_ports::audit::permissions::chain as audit_chain;
use platform_ports::auth::{RefreshTokenStore, VerificationTokenStore};
use platform_ports::authz::PermissionResolver;
use platform_ports::blob::BlobStore;
use platform_ports::blog::AuthorStats;
use platform_ports::clock::{Clock, IdGenerator};
use platform_ports::events::{EventHandler, Outbox, ProcessedEvents};
use platform_ports::files::FileRepository;
use platform_ports::identity::ApiKeyService;
use platform_ports::jobs::{CronJob, JobHandler, JobQueue};
use platform_ports::notify::Mailer;
use platform_ports::persistence::UnitOfWork;
use platform_ports::webhooks::{WebhookRepository, permissions as webhook_permissions};
use shaku::HasComponent;

use crate::author_stats::{AUTHOR_STATS_SUBSCRIBER, PublishedPostCounter};
use crate::maintenance::{
    AuditCheckpoints, EventRetention, ExpiredTokenCleanup, PurgeProcessedEvents, PurgeSentOutbox,
};
use crate::modules::{CronRegistration, CronSpec, FeatureModule, JobRegistration, Subscription};
use crate::reactions::{ApiKeyCacheInvalidation, PermissionCacheInvalidation};

/// The transactional outbox and the subscribers' processed-event record:
/// published rows are kept a week, records for `event_bus.processed_retention`;
/// both are purged hourly.
pub fn events<M>() -> FeatureModule<M>
where
    M: HasComponent<dyn Outbox> + HasComponent<dyn ProcessedEvents> + HasComponent<dyn EventRetention>,
{
    FeatureModule {
        name: "events",
        permissions: &[],
        topic: None,
        publishes: &[],
        handles: Vec::new(),
        jobs: Vec::new(),
        cron: vec![
            CronRegistration {
                name: "outbox-purge",
                spec: CronSpec::Fixed("0 17 * * * *"),
                job: |m: &M| -> Arc<dyn CronJob> { Arc::new(PurgeSentOutbox::new(m.resolve())) },
            },
            CronRegistration {
                name: "processed-events-purge",
                spec: CronSpec::Fixed("0 47 * * * *"),
                job: |m: &M| -> Arc<dyn CronJob> {
                    let retention: Arc<dyn EventRetention> = m.resolve();
                    Arc::new(PurgeProcessedEvents::new(m.resolve(), retention.processed_events()))
                },
            },
        ],
        migrations: &["0005_outbox.sql", "0006_processed_events.sql"],
        mount: None,
    }
}

/// Users, roles, permissions, sessions and the audit log.
pub fn identity<M>() -> FeatureModule<M>
where
    M: HasComponent<dyn RefreshTokenStore>
        + HasComponent<dyn VerificationTokenStore>
        + HasComponent<dyn PermissionResolver>
        + HasComponent<dyn ApiKeyService>,
{
    FeatureModule {
        name: "identity",
        permissions: permissions::ALL,
        topic: Some(IDENTITY_TOPIC),
        publishes: &[
            identity_events::USER_CREATED,
            identity_events::USER_UPDATED,
            identity_events::USER_DELETED,
            identity_events::ROLE_ASSIGNED,
            identity_events::ROLE_REVOKED,
            identity_events::PERMISSION_GRANTED,
            identity_events::API_KEY_REVOKED,
        ],
        handles: vec![
            Subscription {
                topic: IDENTITY_TOPIC,
                subscriber: "identity.permission-cache",
                handler: |m: &M| -> Arc<dyn EventHandler> { Arc::new(PermissionCacheInvalidation::new(m.resolve())) },
            },
            Subscription {
                topic: IDENTITY_TOPIC,
                subscriber: "identity.api-key-cache",
                handler: |m: &M| -> Arc<dyn EventHandler> { Arc::new(ApiKeyCacheInvalidation::new(m.resolve())) },
            },
        ],
        jobs: Vec::new(),
        // The seed's "cleanup expired tokens (daily)".
        cron: vec![CronRegistration {
            name: "expired-token-cleanup",
            spec: CronSpec::Fixed("0 30 3 * * *"),
            job: |m: &M| -> Arc<dyn CronJob> { Arc::new(ExpiredTokenCleanup::new(m.resolve(), m.resolve())) },
        }],
        migrations: &[
            "0001_identity.sql",
            "0002_tokens.sql",
            "0003_audit.sql",
            "0011_api_keys.sql",
        ],
        mount: Some("/api/v1"),
    }
}

/// The audit log's hash chain: `audit.log.verify` (so the admin role holds
/// it), the chain tables, and the checkpoint job. Its route
/// (`GET /api/v1/audit/verify`) is served with identity's audit routes.
pub fn audit<M>() -> FeatureModule<M>
where
    M: HasComponent<dyn Auditor>,
{
    FeatureModule {
        name: "audit",
        permissions: audit_chain::ALL,
        topic: None,
        publishes: &[],
        handles: Vec::new(),
        jobs: Vec::new(),
        // Every five minutes: a checkpoint is written only when a head
        // moved, so the tail an intruder could remove unseen is at most
        // five minutes of entries.
        cron: vec![CronRegistration {
            name: "audit-checkpoint",
            spec: CronSpec::Fixed("0 */5 * * * *"),
            job: |m: &M| -> Arc<dyn CronJob> { Arc::new(AuditCheckpoints::new(m.resolve())) },
        }],
        migrations: &["0010_audit_chain.sql"],
        mount: None,
    }
}

/// Mail leaves through the job queue, so delivery is retried and off the
/// request path. The digest of new posts runs on `digest.schedule`: its
/// cron queues a `digest:tick` job per period, whose handler queues one
/// mail per opted-in user.
pub fn notify<M>() -> FeatureModule<M>
where
    M: HasComponent<dyn Mailer>
        + HasComponent<dyn NotifyChannels>
        + HasComponent<dyn DigestService>
        + HasComponent<dyn JobQueue>
        + HasComponent<dyn Clock>,
{
    FeatureModule {
        name: "notify",
        permissions: &[],
        topic: None,
        publishes: &[],
        handles: Vec::new(),
        // Registered whether or not a channel is configured: a task of a
        // disabled channel (enqueued by another service) is archived with
        // a clear reason instead of waiting for a handler forever.
        jobs: vec![
            JobRegistration {
                task_type: MAIL_TASK_TYPE,
                handler: |m: &M| -> Arc<dyn JobHandler> {
                    let channels: Arc<dyn NotifyChannels> = m.resolve();
                    Arc::new(MailJobHandler::new(m.resolve()).with_templates(channels.templates()))
                },
            },
            JobRegistration {
                task_type: SMS_TASK_TYPE,
                handler: |m: &M| -> Arc<dyn JobHandler> {
                    let channels: Arc<dyn NotifyChannels> = m.resolve();
                    let sender = channels.sms().unwrap_or_else(|| Arc::new(DisabledChannel("sms")));
                    Arc::new(SmsJobHandler::new(sender))
                },
            },
            JobRegistration {
                task_type: PUSH_TASK_TYPE,
                handler: |m: &M| -> Arc<dyn JobHandler> {
                    let channels: Arc<dyn NotifyChannels> = m.resolve();
                    let sender = channels.push().unwrap_or_else(|| Arc::new(DisabledChannel("push")));
                    Arc::new(PushJobHandler::new(sender))
                },
            },
            JobRegistration {
                task_type: DIGEST_TASK_TYPE,
                handler: |m: &M| -> Arc<dyn JobHandler> { Arc::new(DigestTickHandler::new(m.resolve())) },
            },
        ],
        cron: vec![CronRegistration {
            name: DIGEST_CRON,
            spec: CronSpec::Configured(|m: &M| {
                let digest: Arc<dyn DigestService> = m.resolve();
                digest.schedule().map(|s| s.spec().to_owned())
            }),
            job: |m: &M| -> Arc<dyn CronJob> { Arc::new(DigestCron::new(m.resolve(), m.resolve(), m.resolve())) },
        }],
        migrations: &["0012_weekly_digest.sql"],
        mount: None,
    }
}

/// The Jobs API (`/api/v1/jobs`): queues and tasks as the job queue's
/// `JobAdmin` port shows them. Its handlers and cron belong to the modules
/// that own the task types; this module only declares who may look and act.
pub fn jobs<M>() -> FeatureModule<M> {
    FeatureModule {
        name: "jobs",
        permissions: platform_ports::jobs::permissions::ALL,
        topic: None,
        publishes: &[],
        handles: Vec::new(),
        jobs: Vec::new(),
        cron: Vec::new(),
        migrations: &[],
        mount: Some("/api/v1/jobs"),
    }
}

/// Files: uploads with their metadata, the signed-URL route, and the hourly
/// sweep of blobs no file row names (left when a blob's deletion failed
/// after its row was deleted).
pub fn files<M>() -> FeatureModule<M>
where
    M: HasComponent<dyn BlobStore> + HasComponent<dyn FileRepository> + HasComponent<dyn Clock>,
{
    FeatureModule {
        name: "files",
        permissions: platform_ports::files::permissions::ALL,
        topic: Some(files_module::FILES_TOPIC),
        publishes: &[files_module::events::FILE_UPLOADED, files_module::events::FILE_DELETED],
        handles: Vec::new(),
        jobs: Vec::new(),
        cron: vec![CronRegistration {
            name: "orphan-blob-sweep",
            spec: CronSpec::Fixed("0 23 * * * *"),
            job: |m: &M| -> Arc<dyn CronJob> {
                Arc::new(OrphanSweep::new(
                    m.resolve(),
                    m.resolve(),
                    m.resolve(),
                    chrono::Duration::hours(1),
                ))
            },
        }],
        migrations: &["0008_files.sql"],
        mount: Some("/api/v1"),
    }
}

/// The example feature: blog posts with a publishing workflow, and the
/// example subscriber counting each author's published posts.
pub fn blog<M>() -> FeatureModule<M>
where
    M: HasComponent<dyn AuthorStats> + HasComponent<dyn UnitOfWork> + HasComponent<dyn ProcessedEvents>,
{
    FeatureModule {
        name: "blog",
        permissions: blog::permissions::ALL,
        topic: Some(blog::BLOG_TOPIC),
        publishes: &[
            blog::events::POST_CREATED,
            blog::events::POST_UPDATED,
            blog::events::POST_PUBLISHED,
            blog::events::POST_DELETED,
        ],
        handles: vec![Subscription {
            topic: blog::BLOG_TOPIC,
            subscriber: AUTHOR_STATS_SUBSCRIBER,
            handler: |m: &M| -> Arc<dyn EventHandler> {
                Arc::new(PublishedPostCounter::idempotent(m.resolve(), m.resolve(), m.resolve()))
            },
        }],
        jobs: Vec::new(),
        cron: Vec::new(),
        migrations: &["0004_blog.sql", "0007_author_stats.sql"],
        mount: Some("/api/v1/blog"),
    }
}

/// Webhooks: tenants subscribe URLs to the platform's events (blog,
/// identity and files topics); each event a subscription wants becomes one delivery,
/// sent by `webhook:deliver` jobs with the retry schedule of `webhooks.*`.
pub fn webhooks<M>() -> FeatureModule<M>
where
    M: HasComponent<dyn WebhookRepository>
        + HasComponent<dyn JobQueue>
        + HasComponent<dyn NotifyChannels>
        + HasComponent<dyn WebhookRetry>
        + HasComponent<dyn Clock>
        + HasComponent<dyn IdGenerator>,
{
    fn fanout<M>(m: &M) -> Arc<dyn EventHandler>
    where
        M: HasComponent<dyn WebhookRepository>
            + HasComponent<dyn JobQueue>
            + HasComponent<dyn Clock>
            + HasComponent<dyn IdGenerator>,
    {
        Arc::new(WebhookFanout::new(m.resolve(), m.resolve(), m.resolve(), m.resolve()))
    }
    FeatureModule {
        name: "webhooks",
        permissions: webhook_permissions::ALL,
        topic: None,
        publishes: &[],
        // One consumer group per topic: a Kafka group subscribes to one
        // topic list, so each topic gets its own group.
        handles: vec![
            Subscription {
                topic: blog::BLOG_TOPIC,
                subscriber: "webhooks.fanout.blog",
                handler: fanout::<M>,
            },
            Subscription {
                topic: IDENTITY_TOPIC,
                subscriber: "webhooks.fanout.identity",
                handler: fanout::<M>,
            },
            Subscription {
                topic: files_module::FILES_TOPIC,
                subscriber: "webhooks.fanout.files",
                handler: fanout::<M>,
            },
        ],
        jobs: vec![JobRegistration {
            task_type: WEBHOOK_TASK_TYPE,
            handler: |m: &M| -> Arc<dyn JobHandler> {
                Arc::new(WebhookDeliveryJob::new(
                    m.resolve(),
                    m.resolve(),
                    m.resolve(),
                    m.resolve(),
                    m.resolve(),
                ))
            },
        }],
        cron: Vec::new(),
        migrations: &["0009_webhooks.sql"],
        mount: Some("/api/v1"),
    }
}
