//! The job queue, the Jobs API's port and cron (`scheduler.*`).

use std::sync::Arc;

use anyhow::Context as _;
use platform_adapter_memory::{MemoryJobQueue, MemoryJobQueueSettings, MemoryScheduler};
use platform_adapter_redis_queue::{QueueTimings, RedisQueue, RedisQueueSettings};
use platform_ports::jobs::{JobAdmin, JobQueue, PeriodicTask, RetryDelay, Scheduler};

use super::{Built, Parts, serve};
use crate::config::{SchedulerDriver, Settings};

/// The job ports.
pub struct JobPorts {
    /// Durable jobs with retries.
    pub queue: Box<dyn JobQueue>,
    /// Queues and tasks as the Jobs API shows and manages them.
    pub admin: Box<dyn JobAdmin>,
    /// Cron schedules.
    pub scheduler: Box<dyn Scheduler>,
}

/// Builds the configured queue and scheduler, and schedules the periodic
/// tasks declared in `scheduler.cron`. Workers and cron run as background
/// services (on Redis, only where `scheduler.workers` is on).
///
/// # Errors
/// When the queue's settings are refused or a declared cron task does not
/// parse (naming the key).
pub async fn build(settings: &Settings) -> anyhow::Result<Built<JobPorts>> {
    let mut parts = Parts::default();
    let s = &settings.scheduler;
    let (ports, scheduler): (JobPorts, Arc<dyn Scheduler>) = match s.driver {
        SchedulerDriver::Memory => {
            let queue = MemoryJobQueue::new(MemoryJobQueueSettings {
                concurrency: s.concurrency,
                shutdown_timeout: settings.server.shutdown_timeout,
                default_retention: s.default_retention,
                retry_delay: s.timings.retry_delay.map_or_else(RetryDelay::asynq, RetryDelay::fixed),
                ..MemoryJobQueueSettings::default()
            });
            let scheduler = MemoryScheduler::with_queue(Arc::new(queue.clone()));
            // In memory the queue lives in this process: it always works it.
            parts.service(Arc::new(queue.clone()));
            parts.service(Arc::new(scheduler.clone()));
            let ports = JobPorts {
                queue: serve!(parts, JobQueue, queue.clone()),
                admin: serve!(parts, JobAdmin, queue),
                scheduler: serve!(parts, Scheduler, scheduler.clone()),
            };
            (ports, Arc::new(scheduler))
        }
        SchedulerDriver::Redis => {
            let url = if s.redis_url.is_empty() {
                settings.redis.url.clone()
            } else {
                s.redis_url.clone()
            };
            let queue = RedisQueue::connect(RedisQueueSettings {
                url,
                concurrency: s.concurrency,
                queues: s.queues.clone(),
                strict_priority: s.strict_priority,
                default_retention: s.default_retention,
                shutdown_timeout: settings.server.shutdown_timeout,
                cron_queue: s.cron_queue.clone(),
                cron_retention: s.cron_retention,
                retry_delay: s.timings.retry_delay.map_or_else(RetryDelay::asynq, RetryDelay::fixed),
                timings: QueueTimings {
                    lease: s.timings.lease,
                    heartbeat_interval: s.timings.heartbeat_interval,
                    recover_interval: s.timings.recover_interval,
                    recover_grace: s.timings.recover_grace,
                    forward_interval: s.timings.forward_interval,
                    janitor_interval: s.timings.janitor_interval,
                    task_check_interval: s.timings.task_check_interval,
                    scheduler_heartbeat: s.timings.scheduler_heartbeat,
                },
                ..RedisQueueSettings::default()
            })
            .map_err(|e| anyhow::anyhow!("scheduler: {e}"))?;
            let scheduler = queue.scheduler();
            parts.check("job_queue", Arc::new(queue.health_checker()));
            if s.workers {
                parts.service(Arc::new(queue.workers()));
                parts.service(Arc::new(scheduler.clone()));
            }
            let ports = JobPorts {
                queue: serve!(parts, JobQueue, queue.clone()),
                admin: serve!(parts, JobAdmin, queue),
                scheduler: serve!(parts, Scheduler, scheduler.clone()),
            };
            (ports, Arc::new(scheduler))
        }
    };
    for (i, cron) in s.cron.iter().enumerate() {
        let queue = if cron.queue.is_empty() {
            &s.cron_queue
        } else {
            &cron.queue
        };
        let payload = serde_json::to_vec(&cron.payload).context("scheduler.cron: payload")?;
        scheduler
            .schedule_task(PeriodicTask {
                name: cron.name.clone(),
                spec: cron.spec.clone(),
                task_type: cron.task_type.clone(),
                payload,
                queue: queue.clone(),
            })
            .await
            .map_err(|e| anyhow::anyhow!("scheduler.cron[{i}] ({}): {e}", cron.name))?;
    }
    Ok(Built { ports, parts })
}
