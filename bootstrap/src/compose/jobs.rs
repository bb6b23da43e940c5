//! The job queue and cron (`scheduler.driver`).

use std::sync::Arc;

use platform_adapter_memory::{MemoryJobQueue, MemoryJobQueueSettings, MemoryScheduler};
use platform_ports::jobs::{JobQueue, Scheduler};

use super::{Built, Parts, serve};
use crate::config::{SchedulerDriver, Settings};

/// The job ports.
pub struct JobPorts {
    /// Durable jobs with retries.
    pub queue: Box<dyn JobQueue>,
    /// Cron schedules.
    pub scheduler: Box<dyn Scheduler>,
}

/// Builds the configured queue and scheduler; workers and ticks run as
/// background services.
///
/// # Errors
/// When the configured driver has no adapter in this build (naming the key).
pub fn build(settings: &Settings) -> anyhow::Result<Built<JobPorts>> {
    let mut parts = Parts::default();
    let ports = match settings.scheduler.driver {
        SchedulerDriver::Memory => {
            let queue = MemoryJobQueue::new(MemoryJobQueueSettings {
                concurrency: settings.scheduler.concurrency,
                shutdown_timeout: settings.server.shutdown_timeout,
                ..MemoryJobQueueSettings::default()
            });
            let scheduler = MemoryScheduler::new();
            parts.service(Arc::new(queue.clone()));
            parts.service(Arc::new(scheduler.clone()));
            JobPorts {
                queue: serve!(parts, JobQueue, queue),
                scheduler: serve!(parts, Scheduler, scheduler),
            }
        }
        SchedulerDriver::Redis => {
            anyhow::bail!("scheduler.driver: `redis` has no adapter in this build yet; use `memory`")
        }
    };
    Ok(Built { ports, parts })
}
