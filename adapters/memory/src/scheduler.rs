//! The in-memory cron scheduler: one task per schedule, sleeping until the
//! next tick (UTC).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use platform_ports::BoxError;
use platform_ports::jobs::{CronJob, JobError, JobQueue, NewJob, PeriodicTask, Scheduler};
use platform_ports::lifecycle::BackgroundService;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use crate::bus::attempt::run_guarded;

/// Runs jobs on cron schedules inside this process.
///
/// Schedules registered before `start` wait for it, so no job runs before
/// the services it needs are up; later ones start at once. `stop` aborts
/// every schedule and is final. Specs have six fields (with seconds) or
/// five (seconds taken as 0), or are a shorthand such as `@hourly`; times
/// are UTC. A tick that comes while the previous run is still going is
/// skipped, not queued. Clones share the schedules; when the last is dropped
/// every schedule stops.
#[derive(Clone, shaku::Component)]
#[shaku(interface = Scheduler)]
pub struct MemoryScheduler {
    #[shaku(force_default)]
    state: Arc<Mutex<SchedulerState>>,
}

#[derive(Default)]
struct SchedulerState {
    running: Option<Handle>,
    stopped: bool,
    entries: HashMap<String, Entry>,
    /// Where periodic tasks are enqueued.
    queue: Option<Arc<dyn JobQueue>>,
}

impl Drop for SchedulerState {
    fn drop(&mut self) {
        // Tasks do not hold the state, so they would otherwise outlive it.
        for entry in self.entries.values_mut() {
            if let Some(task) = entry.task.take() {
                task.abort();
            }
        }
    }
}

struct Entry {
    schedule: Arc<Cron>,
    job: Arc<dyn CronJob>,
    task: Option<JoinHandle<()>>,
}

impl Default for MemoryScheduler {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryScheduler {
    /// A scheduler with no schedules, not yet started.
    #[must_use]
    pub fn new() -> Self {
        Self { state: Arc::default() }
    }

    fn state(&self) -> MutexGuard<'_, SchedulerState> {
        // Every change under this lock is a single map or field update.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A scheduler that enqueues periodic tasks on `queue`.
    #[must_use]
    pub fn with_queue(queue: Arc<dyn JobQueue>) -> Self {
        let scheduler = Self::new();
        scheduler.state().queue = Some(queue);
        scheduler
    }

    /// The names of the registered schedules, in no particular order.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        self.state().entries.keys().cloned().collect()
    }
}

/// Parses a five- or six-field spec (or an `@` shorthand). Weekdays follow
/// POSIX cron (0 or 7 is Sunday), as the Redis scheduler's specs do.
fn parse_spec(spec: &str) -> Result<Cron, JobError> {
    let invalid = |reason: String| JobError::InvalidCron {
        spec: spec.to_owned(),
        reason,
    };
    let cron = CronParser::builder()
        .seconds(Seconds::Optional)
        .year(Year::Disallowed)
        .build()
        .parse(spec)
        .map_err(|err| invalid(err.to_string()))?;
    // Refuses patterns that can never fire, such as the 30th of February.
    cron.find_next_occurrence(&Utc::now(), false)
        .map_err(|err| invalid(err.to_string()))?;
    Ok(cron)
}

/// Enqueues one job of a periodic task per tick (one process, so one tick
/// is one enqueue without any locking).
struct EnqueueTick {
    queue: Arc<dyn JobQueue>,
    task: PeriodicTask,
}

#[async_trait]
impl CronJob for EnqueueTick {
    async fn run(&self) -> Result<(), BoxError> {
        let job = NewJob::new(&self.task.queue, &self.task.task_type, self.task.payload.clone());
        self.queue.enqueue(job).await?;
        Ok(())
    }
}

/// Sleeps until each tick and runs the job; failures are logged and the
/// schedule goes on.
async fn tick_loop(name: String, schedule: Arc<Cron>, job: Arc<dyn CronJob>) {
    let mut last: Option<DateTime<Utc>> = None;
    loop {
        // Never before the last tick, so a clock that reads slightly early
        // after the sleep cannot fire the same tick twice.
        let from = last.map_or_else(Utc::now, |last| last.max(Utc::now()));
        let tick = match schedule.find_next_occurrence(&from, false) {
            Ok(tick) => tick,
            Err(error) => {
                tracing::error!(schedule = %name, %error, "cron schedule has no further ticks");
                return;
            }
        };
        let wait = (tick - Utc::now()).to_std().unwrap_or_default();
        tokio::time::sleep(wait).await;
        last = Some(tick);
        match run_guarded(job.run()).await {
            Ok(()) => tracing::debug!(schedule = %name, %tick, "cron job ran"),
            Err(error) => tracing::error!(schedule = %name, %tick, %error, "cron job failed"),
        }
    }
}

fn spawn(runtime: &Handle, name: &str, entry: &mut Entry) {
    entry.task = Some(runtime.spawn(tick_loop(name.to_owned(), entry.schedule.clone(), entry.job.clone())));
}

#[async_trait]
impl Scheduler for MemoryScheduler {
    async fn schedule(&self, name: &str, spec: &str, job: Arc<dyn CronJob>) -> Result<(), JobError> {
        let schedule = Arc::new(parse_spec(spec)?);
        let mut state = self.state();
        if state.stopped {
            return Err(JobError::Closed);
        }
        if state.entries.contains_key(name) {
            return Err(JobError::AlreadyRegistered(name.to_owned()));
        }
        let mut entry = Entry {
            schedule,
            job,
            task: None,
        };
        if let Some(runtime) = &state.running {
            spawn(runtime, name, &mut entry);
        }
        state.entries.insert(name.to_owned(), entry);
        tracing::debug!(schedule = name, spec, "cron job scheduled");
        Ok(())
    }

    async fn schedule_task(&self, task: PeriodicTask) -> Result<(), JobError> {
        let probe = NewJob::new(&task.queue, &task.task_type, Vec::new());
        probe.validate().map_err(|(field, reason)| JobError::Invalid {
            field,
            reason: reason.to_owned(),
        })?;
        let queue = self
            .state()
            .queue
            .clone()
            .ok_or_else(|| JobError::backend("this scheduler has no job queue (build it with `with_queue`)"))?;
        let (name, spec) = (task.name.clone(), task.spec.clone());
        self.schedule(&name, &spec, Arc::new(EnqueueTick { queue, task })).await
    }

    async fn unschedule(&self, name: &str) -> Result<bool, JobError> {
        let removed = self.state().entries.remove(name);
        Ok(removed.is_some_and(|entry| {
            if let Some(task) = entry.task {
                task.abort();
            }
            true
        }))
    }
}

#[async_trait]
impl BackgroundService for MemoryScheduler {
    fn name(&self) -> &'static str {
        "memory cron scheduler"
    }

    /// Starts every registered schedule; calling it again does nothing.
    async fn start(&self) -> Result<(), BoxError> {
        let runtime = Handle::try_current()?;
        let mut state = self.state();
        if state.stopped {
            return Err(JobError::Closed.into());
        }
        if state.running.is_none() {
            for (name, entry) in &mut state.entries {
                spawn(&runtime, name, entry);
            }
            tracing::info!(schedules = state.entries.len(), "cron scheduler started");
            state.running = Some(runtime);
        }
        Ok(())
    }

    /// Aborts every schedule, including a run in progress.
    async fn stop(&self) -> Result<(), BoxError> {
        let tasks: Vec<JoinHandle<()>> = {
            let mut state = self.state();
            state.stopped = true;
            state.running = None;
            state
                .entries
                .values_mut()
                .filter_map(|entry| entry.task.take())
                .collect()
        };
        for task in tasks {
            task.abort();
            // Wait for the abort so no job is still running when stop returns.
            let _ = task.await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
