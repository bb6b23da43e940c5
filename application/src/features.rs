//! The manifests of the platform's modules — events (the outbox), identity
//! (with authorization and audit), audit (the tamper-evident chain), notify
//! (mail delivery) — and the Blog
//! example feature, each with the reactions it declares.

use std::sync::Arc;

use platform_core::blog;
use platform_core::identity::events as identity_events;
use platform_core::notify::{
    DisabledChannel, MAIL_TASK_TYPE, MailJobHandler, NotifyChannels, PUSH_TASK_TYPE, PushJobHandler, SMS_TASK_TYPE,
    SmsJobHandler,
};
use platform_core::permissions;
use platform_core::support::IDENTITY_TOPIC;
use platform_ports::audit::Auditor;
use platform_ports::audit::permissions::chain as audit_chain;
use platform_ports::auth::{RefreshTokenStore, VerificationTokenStore};
use platform_ports::authz::PermissionResolver;
use platform_ports::blog::AuthorStats;
use platform_ports::events::{EventHandler, Outbox, ProcessedEvents};
use platform_ports::jobs::{CronJob, JobHandler};
use platform_ports::notify::Mailer;
use platform_ports::persistence::UnitOfWork;
use shaku::HasComponent;

use crate::author_stats::{AUTHOR_STATS_SUBSCRIBER, PublishedPostCounter};
use crate::maintenance::{
    AuditCheckpoints, EventRetention, ExpiredTokenCleanup, PurgeProcessedEvents, PurgeSentOutbox,
};
use crate::modules::{CronRegistration, FeatureModule, JobRegistration, Subscription};
use crate::reactions::PermissionCacheInvalidation;

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
                spec: "0 17 * * * *",
                job: |m: &M| -> Arc<dyn CronJob> { Arc::new(PurgeSentOutbox::new(m.resolve())) },
            },
            CronRegistration {
                name: "processed-events-purge",
                spec: "0 47 * * * *",
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
        + HasComponent<dyn PermissionResolver>,
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
        ],
        handles: vec![Subscription {
            topic: IDENTITY_TOPIC,
            subscriber: "identity.permission-cache",
            handler: |m: &M| -> Arc<dyn EventHandler> { Arc::new(PermissionCacheInvalidation::new(m.resolve())) },
        }],
        jobs: Vec::new(),
        // The seed's "cleanup expired tokens (daily)".
        cron: vec![CronRegistration {
            name: "expired-token-cleanup",
            spec: "0 30 3 * * *",
            job: |m: &M| -> Arc<dyn CronJob> { Arc::new(ExpiredTokenCleanup::new(m.resolve(), m.resolve())) },
        }],
        migrations: &["0001_identity.sql", "0002_tokens.sql", "0003_audit.sql"],
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
            spec: "0 */5 * * * *",
            job: |m: &M| -> Arc<dyn CronJob> { Arc::new(AuditCheckpoints::new(m.resolve())) },
        }],
        migrations: &["0012_audit_chain.sql"],
        mount: None,
    }
}

/// Mail leaves through the job queue, so delivery is retried and off the
/// request path.
pub fn notify<M>() -> FeatureModule<M>
where
    M: HasComponent<dyn Mailer> + HasComponent<dyn NotifyChannels>,
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
        ],
        cron: Vec::new(),
        migrations: &[],
        mount: None,
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
