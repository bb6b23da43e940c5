//! `Shared<T>`: hands one `Arc` both to the container (as a port) and to the
//! lifecycle (as a background service).
//!
//! shaku stores each component behind its own `Arc<dyn Port>`, from which the
//! concrete type (and so its `BackgroundService` side) cannot be recovered.
//! Components that run in the background are therefore built first and
//! given to the container through this delegating wrapper.

use std::sync::Arc;

use async_trait::async_trait;
use platform_ports::StoreError;
use platform_ports::audit::AuditStore;
use platform_ports::audit::{AuditEntry, AuditFilter};
use platform_ports::cache::{Cache, CacheError};
use platform_ports::error_bus::{ErrorPublisher, ErrorReport};
use platform_ports::events::{BusError, EventBus, EventHandler, SubscriptionId};
use platform_ports::events::{DeadLetter, Event};
use platform_ports::jobs::{CronJob, JobError, JobHandler, JobQueue, PeriodicTask, Scheduler};
use platform_ports::jobs::{JobInfo, NewJob};
use platform_ports::metrics::{Counter, Gauge, Histogram, Metrics, MetricsError, UpDownCounter};
use platform_ports::model::{JobId, Page, PageRequest, RequestContext, TenantId};
use platform_ports::persistence::Transaction;

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
    async fn schedule_task(&self, task: PeriodicTask) -> Result<(), JobError> {
        self.0.schedule_task(task).await
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

#[async_trait]
impl<T: AuditStore + ?Sized> AuditStore for Shared<T> {
    async fn append(&self, tx: &mut Transaction, entry: &AuditEntry) -> Result<(), StoreError> {
        self.0.append(tx, entry).await
    }
    async fn append_batch(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        self.0.append_batch(entries).await
    }
    async fn query(
        &self,
        tenant: TenantId,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEntry>, StoreError> {
        self.0.query(tenant, filter, page).await
    }
}

impl<T: Metrics + ?Sized> Metrics for Shared<T> {
    fn counter(&self, name: &'static str, description: &'static str, unit: &'static str) -> Arc<dyn Counter> {
        self.0.counter(name, description, unit)
    }
    fn up_down_counter(
        &self,
        name: &'static str,
        description: &'static str,
        unit: &'static str,
    ) -> Arc<dyn UpDownCounter> {
        self.0.up_down_counter(name, description, unit)
    }
    fn histogram(
        &self,
        name: &'static str,
        description: &'static str,
        unit: &'static str,
        boundaries: Option<Vec<f64>>,
    ) -> Arc<dyn Histogram> {
        self.0.histogram(name, description, unit, boundaries)
    }
    fn gauge(&self, name: &'static str, description: &'static str, unit: &'static str) -> Arc<dyn Gauge> {
        self.0.gauge(name, description, unit)
    }
    fn render(&self) -> Result<String, MetricsError> {
        self.0.render()
    }
}

#[async_trait]
impl<T: Cache + ?Sized> Cache for Shared<T> {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        self.0.get(key).await
    }
    async fn set(&self, key: &str, value: Vec<u8>, ttl: Option<std::time::Duration>) -> Result<(), CacheError> {
        self.0.set(key, value, ttl).await
    }
    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.0.delete(key).await
    }
    async fn exists(&self, key: &str) -> Result<bool, CacheError> {
        self.0.exists(key).await
    }
    async fn increment(&self, key: &str, ttl: Option<std::time::Duration>) -> Result<i64, CacheError> {
        self.0.increment(key, ttl).await
    }
    async fn ttl(&self, key: &str) -> Result<Option<std::time::Duration>, CacheError> {
        self.0.ttl(key).await
    }
}
