//! `Shared<T>`: hands one `Arc` both to the container (as a port) and to the
//! lifecycle (as a background service).
//!
//! shaku stores each component behind its own `Arc<dyn Port>`, from which the
//! concrete type (and so its `BackgroundService` side) cannot be recovered.
//! Components that run in the background are therefore built first and
//! given to the container through this delegating wrapper.

use std::sync::Arc;

use async_trait::async_trait;
use platform_ports::errors::{ErrorPublisher, ErrorReport};
use platform_ports::events::{BusError, EventBus, EventHandler, SubscriptionId};
use platform_ports::jobs::{CronJob, JobError, JobHandler, JobQueue, Scheduler};
use platform_ports::model::{DeadLetter, Event, JobId, JobInfo, NewJob, RequestContext};

/// An `Arc<T>` that implements the ports `T` implements.
pub struct Shared<T: ?Sized>(pub Arc<T>);

#[async_trait]
impl<T: EventBus + ?Sized> EventBus for Shared<T> {
    async fn publish(&self, topic: &str, event: &Event) -> Result<(), BusError> {
        self.0.publish(topic, event).await
    }
    async fn subscribe(
        &self,
        topic: &str,
        subscriber: &str,
        handler: Arc<dyn EventHandler>,
    ) -> Result<SubscriptionId, BusError> {
        self.0.subscribe(topic, subscriber, handler).await
    }
    async fn unsubscribe(&self, id: SubscriptionId) -> Result<(), BusError> {
        self.0.unsubscribe(id).await
    }
    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, BusError> {
        self.0.dead_letters(limit).await
    }
}

#[async_trait]
impl<T: JobQueue + ?Sized> JobQueue for Shared<T> {
    async fn enqueue(&self, job: NewJob) -> Result<JobId, JobError> {
        self.0.enqueue(job).await
    }
    async fn status(&self, id: JobId) -> Result<Option<JobInfo>, JobError> {
        self.0.status(id).await
    }
    fn register(&self, task_type: &str, handler: Arc<dyn JobHandler>) -> Result<(), JobError> {
        self.0.register(task_type, handler)
    }
}

#[async_trait]
impl<T: Scheduler + ?Sized> Scheduler for Shared<T> {
    async fn schedule(&self, name: &str, spec: &str, job: Arc<dyn CronJob>) -> Result<(), JobError> {
        self.0.schedule(name, spec, job).await
    }
    async fn unschedule(&self, name: &str) -> Result<bool, JobError> {
        self.0.unschedule(name).await
    }
}

impl<T: ErrorPublisher + ?Sized> ErrorPublisher for Shared<T> {
    fn publish(&self, report: ErrorReport) {
        self.0.publish(report);
    }
    fn publish_with_context(&self, ctx: &RequestContext, report: ErrorReport) {
        self.0.publish_with_context(ctx, report);
    }
}
