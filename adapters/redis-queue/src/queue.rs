//! [`RedisQueue`]: the client side (`JobQueue`: enqueue as asynq's client
//! does, status by id) and the constructor of everything else: the
//! workers, the scheduler and the health checker share its connection and
//! handler registry.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use platform_ports::jobs::{JobError, JobHandler, JobId, JobInfo, JobQueue, NewJob};
use tokio::sync::Notify;
use tracing::Instrument as _;

use crate::broker::{Broker, Enqueued, Placement};
use crate::error::RedisQueueError;
use crate::health::RedisQueueHealthChecker;
use crate::keys::QueueKeys;
use crate::link::Link;
use crate::proto::TaskMessage;
use crate::scheduler::RedisScheduler;
use crate::settings::RedisQueueSettings;
use crate::worker::{HandlerRegistry, RedisQueueWorkers};

/// What every part of one queue shares.
pub(crate) struct Core {
    pub(crate) broker: Broker,
    pub(crate) settings: RedisQueueSettings,
    pub(crate) handlers: HandlerRegistry,
    /// Wakes an idle worker of this process when this process enqueues.
    pub(crate) wake: Notify,
}

/// The Redis job queue, wire-compatible with asynq. Clones share it.
#[derive(Clone)]
pub struct RedisQueue {
    core: Arc<Core>,
}

/// The task header with the W3C trace context of the work that enqueued it.
pub(crate) const TRACEPARENT_HEADER: &str = "traceparent";

/// asynq stores timeouts in whole seconds; a shorter one still bounds the task.
fn whole_seconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs() + u64::from(duration.subsec_nanos() > 0)).unwrap_or(i64::MAX)
}

/// The task message asynq's client would write for `job`, and where it goes.
pub(crate) fn task_message(job: &NewJob, id: &JobId, default_retention: Duration) -> (TaskMessage, Placement) {
    let retention = job.retention.unwrap_or(default_retention);
    let unique_key = job
        .unique_for
        .map(|_| QueueKeys::new(&job.queue).unique(&job.task_type, &job.payload))
        .unwrap_or_default();
    let message = TaskMessage {
        r#type: job.task_type.clone(),
        payload: job.payload.clone(),
        id: id.to_string(),
        queue: job.queue.clone(),
        retry: i32::try_from(job.max_retries).unwrap_or(i32::MAX),
        timeout: job.effective_timeout().map_or(0, whole_seconds),
        deadline: job.deadline.map_or(0, |at| at.timestamp()),
        unique_key,
        retention: whole_seconds(retention),
        // asynq's task headers (≥ 0.26) carry metadata beside the payload;
        // older asynq versions skip the field, so the wire format holds.
        headers: job
            .trace_parent
            .iter()
            .map(|traceparent| (TRACEPARENT_HEADER.to_owned(), traceparent.clone()))
            .collect(),
        ..TaskMessage::default()
    };
    let placement = match job.run_at {
        Some(at) if at > Utc::now() => Placement::At(at),
        _ => Placement::Now,
    };
    (message, placement)
}

impl RedisQueue {
    /// A queue over the Redis in `settings` (connected lazily: an
    /// unreachable Redis shows in the health check and in each call).
    ///
    /// # Errors
    /// [`RedisQueueError::Settings`] or [`RedisQueueError::InvalidUrl`].
    pub fn connect(settings: RedisQueueSettings) -> Result<Self, RedisQueueError> {
        settings.validate()?;
        let link = Link::open(settings.url.expose(), settings.command_timeout)?;
        Ok(Self {
            core: Arc::new(Core {
                broker: Broker::new(link),
                settings,
                handlers: HandlerRegistry::default(),
                wake: Notify::new(),
            }),
        })
    }

    pub(crate) fn core(&self) -> &Arc<Core> {
        &self.core
    }

    /// The settings it was built with.
    #[must_use]
    pub fn settings(&self) -> &RedisQueueSettings {
        &self.core.settings
    }

    /// The handlers by task type (what the workers dispatch to).
    #[must_use]
    pub fn handlers(&self) -> &HandlerRegistry {
        &self.core.handlers
    }

    /// The workers of this instance, as a lifecycle service.
    #[must_use]
    pub fn workers(&self) -> RedisQueueWorkers {
        RedisQueueWorkers::new(self.core.clone())
    }

    /// A distributed cron scheduler enqueueing on this queue.
    #[must_use]
    pub fn scheduler(&self) -> RedisScheduler {
        RedisScheduler::new(self.clone())
    }

    /// Checks that Redis answers.
    #[must_use]
    pub fn health_checker(&self) -> RedisQueueHealthChecker {
        RedisQueueHealthChecker::new(self.core.clone())
    }

    /// Enqueues a ready-made task message (what asynq's client writes).
    pub(crate) async fn enqueue_message(
        &self,
        message: &TaskMessage,
        placement: Placement,
        unique_for: Option<Duration>,
    ) -> Result<(), JobError> {
        match self.core.broker.enqueue(message, placement, unique_for).await? {
            Enqueued::Yes => {
                if matches!(placement, Placement::Now) {
                    self.core.wake.notify_one();
                }
                Ok(())
            }
            Enqueued::Duplicate => Err(JobError::Duplicate),
            Enqueued::IdConflict => Err(JobError::IdConflict(
                JobId::parse(message.id.clone()).unwrap_or_default(),
            )),
        }
    }
}

#[async_trait]
impl JobQueue for RedisQueue {
    async fn enqueue(&self, job: NewJob) -> Result<JobId, JobError> {
        job.validate().map_err(|(field, reason)| JobError::Invalid {
            field,
            reason: reason.to_owned(),
        })?;
        let id = job.id.clone().unwrap_or_default();
        let span = tracing::info_span!(
            "job.enqueue",
            otel.name = %format_args!("send {}", job.queue),
            otel.kind = "producer",
            messaging.system = "asynq",
            messaging.operation.type = "send",
            messaging.operation.name = "enqueue",
            messaging.destination.name = %job.queue,
            messaging.message.id = %id,
            job.task_type = %job.task_type,
            db.system = "redis",
        );
        let mut job = job;
        // Inside the enqueue span (traces exported) the worker hangs under it.
        if platform_ports::telemetry::is_installed() {
            let _entered = span.enter();
            job.trace_parent = platform_ports::telemetry::current_traceparent().or(job.trace_parent);
        }
        let (message, placement) = task_message(&job, &id, self.core.settings.default_retention);
        self.enqueue_message(&message, placement, job.unique_for)
            .instrument(span)
            .await?;
        Ok(id)
    }

    async fn status(&self, id: JobId) -> Result<Option<JobInfo>, JobError> {
        Ok(crate::inspector::find(&self.core.broker, &id).await?)
    }

    fn register(&self, task_type: &str, handler: Arc<dyn JobHandler>) -> Result<(), JobError> {
        self.core.handlers.register(task_type, handler)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_carry_asynqs_defaults() {
        let id = JobId::parse("abc").unwrap();
        let job = NewJob::new("mail", "notify:email", b"{}".to_vec());
        let (message, placement) = task_message(&job, &id, Duration::from_secs(60));
        assert!(matches!(placement, Placement::Now));
        assert_eq!((message.retry, message.timeout, message.deadline), (25, 1800, 0));
        assert_eq!((message.retention, message.unique_key.as_str()), (60, ""));
        let unique = job
            .clone()
            .unique_for(Duration::from_secs(5))
            .timeout(Duration::from_millis(1500));
        let (message, _) = task_message(&unique, &id, Duration::ZERO);
        assert_eq!(message.timeout, 2);
        assert_eq!(
            message.unique_key,
            "asynq:{mail}:unique:notify:email:99914b932bd37a50b983c5e7c90ae93b"
        );
        assert!(message.headers.is_empty(), "no trace, no header");
        let traced = NewJob {
            trace_parent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned()),
            ..job.clone()
        };
        let (message, _) = task_message(&traced, &id, Duration::ZERO);
        assert_eq!(
            message.headers.get(TRACEPARENT_HEADER).map(String::as_str),
            traced.trace_parent.as_deref()
        );
        let later = job.after(Duration::from_secs(60));
        assert!(matches!(task_message(&later, &id, Duration::ZERO).1, Placement::At(_)));
    }
}
