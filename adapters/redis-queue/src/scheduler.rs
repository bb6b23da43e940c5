//! [`RedisScheduler`]: distributed cron over the Redis queue.
//!
//! Every instance runs every schedule; at each tick each one enqueues a
//! task whose id is derived from the schedule and the tick
//! (`cron:<name>:<unix seconds>`). asynq's enqueue refuses an id that
//! exists, atomically, so the first instance wins and the others get an id
//! conflict: one task per tick, whatever the number of instances. The
//! task is kept (completed) for `cron_retention` after it runs, so an
//! instance whose clock lags cannot enqueue the same tick again after the
//! winner's task finished. A unique task per tick was chosen over asynq's
//! scheduler keys because asynq's own scheduler does not deduplicate
//! between instances at all.
//!
//! For asynqmon, each instance also writes its entries under
//! `asynq:schedulers` (refreshed every `scheduler_heartbeat`) and the
//! instance that enqueued a tick records it in the entry's history.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use deadpool_redis::redis;
use platform_ports::BoxError;
use platform_ports::jobs::{CronJob, DEFAULT_MAX_RETRIES, JobError, JobHandler, NewJob, PeriodicTask, Scheduler};
use platform_ports::lifecycle::BackgroundService;
use prost::Message as _;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use crate::broker::Placement;
use crate::keys;
use crate::proto::{SchedulerEnqueueEvent, SchedulerEntry, Timestamp};
use crate::queue::{RedisQueue, task_message};
use crate::scripts;

/// Enqueue events kept per entry (asynq: 1000).
const HISTORY_LIMIT: i64 = 1000;

/// Runs a [`CronJob`] when a worker takes its tick's task.
struct CronJobHandler(Arc<dyn CronJob>);

#[async_trait]
impl JobHandler for CronJobHandler {
    async fn handle(&self, _payload: &[u8]) -> Result<(), BoxError> {
        self.0.run().await
    }
}

struct Entry {
    id: String,
    name: String,
    spec: String,
    cron: Arc<Cron>,
    task: PeriodicTask,
    prev: Arc<Mutex<Option<DateTime<Utc>>>>,
    running: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct State {
    entries: HashMap<String, Entry>,
    runtime: Option<Handle>,
    heartbeat: Option<JoinHandle<()>>,
    stopped: bool,
}

impl Drop for State {
    fn drop(&mut self) {
        // The loops do not hold the state, so they would otherwise outlive it.
        for entry in self.entries.values_mut() {
            if let Some(task) = entry.running.take() {
                task.abort();
            }
        }
        if let Some(task) = self.heartbeat.take() {
            task.abort();
        }
    }
}

/// Distributed cron: see the module docs. Clones share the schedules.
#[derive(Clone)]
pub struct RedisScheduler {
    queue: RedisQueue,
    id: String,
    state: Arc<Mutex<State>>,
}

/// Parses a five- or six-field spec (or an `@` shorthand), POSIX weekdays.
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
    cron.find_next_occurrence(&Utc::now(), false)
        .map_err(|err| invalid(err.to_string()))?;
    Ok(cron)
}

impl RedisScheduler {
    pub(crate) fn new(queue: RedisQueue) -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_else(|_| "unknown-host".into());
        let id = format!("{}:{}:{}", host.trim(), std::process::id(), uuid::Uuid::new_v4());
        Self {
            queue,
            id,
            state: Arc::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The names of the registered schedules, in no particular order.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        self.state().entries.keys().cloned().collect()
    }

    fn add(&self, task: PeriodicTask) -> Result<(), JobError> {
        let cron = Arc::new(parse_spec(&task.spec)?);
        let mut state = self.state();
        if state.stopped {
            return Err(JobError::Closed);
        }
        if state.entries.contains_key(&task.name) {
            return Err(JobError::AlreadyRegistered(task.name));
        }
        let mut entry = Entry {
            id: uuid::Uuid::new_v4().to_string(),
            name: task.name.clone(),
            spec: task.spec.clone(),
            cron,
            task,
            prev: Arc::default(),
            running: None,
        };
        if let Some(runtime) = &state.runtime {
            entry.running = Some(runtime.spawn(tick_loop(self.queue.clone(), EntryRun::of(&entry))));
        }
        tracing::debug!(schedule = %entry.name, spec = %entry.spec, "cron schedule added");
        state.entries.insert(entry.name.clone(), entry);
        Ok(())
    }

    /// asynq's scheduler entries of this instance (what asynqmon lists).
    fn entries(&self) -> Vec<Vec<u8>> {
        let state = self.state();
        state
            .entries
            .values()
            .map(|entry| {
                let next = entry.cron.find_next_occurrence(&Utc::now(), false).ok();
                let prev = *entry.prev.lock().unwrap_or_else(PoisonError::into_inner);
                SchedulerEntry {
                    id: entry.id.clone(),
                    spec: entry.spec.clone(),
                    task_type: entry.task.task_type.clone(),
                    task_payload: entry.task.payload.clone(),
                    enqueue_options: vec![format!("Queue({:?})", entry.task.queue)],
                    next_enqueue_time: next.map(Timestamp::from),
                    // Go's zero time when the entry never enqueued.
                    prev_enqueue_time: Some(prev.map_or(
                        Timestamp {
                            seconds: -62_135_596_800,
                            nanos: 0,
                        },
                        Timestamp::from,
                    )),
                }
                .encode_to_vec()
            })
            .collect()
    }
}

/// What a tick loop needs of its entry.
struct EntryRun {
    id: String,
    name: String,
    cron: Arc<Cron>,
    task: PeriodicTask,
    prev: Arc<Mutex<Option<DateTime<Utc>>>>,
}

impl EntryRun {
    fn of(entry: &Entry) -> Self {
        Self {
            id: entry.id.clone(),
            name: entry.name.clone(),
            cron: entry.cron.clone(),
            task: entry.task.clone(),
            prev: entry.prev.clone(),
        }
    }
}

/// Sleeps until each tick and enqueues its task; an id conflict means
/// another instance enqueued this tick first.
async fn tick_loop(queue: RedisQueue, entry: EntryRun) {
    let mut last: Option<DateTime<Utc>> = None;
    loop {
        // Never before the last tick, so a clock that reads slightly early
        // after the sleep cannot fire the same tick twice.
        let from = last.map_or_else(Utc::now, |last| last.max(Utc::now()));
        let tick = match entry.cron.find_next_occurrence(&from, false) {
            Ok(tick) => tick,
            Err(error) => {
                tracing::error!(schedule = %entry.name, %error, "cron schedule has no further ticks");
                return;
            }
        };
        tokio::time::sleep((tick - Utc::now()).to_std().unwrap_or_default()).await;
        last = Some(tick);
        let task = &entry.task;
        let job = NewJob::new(&task.queue, &task.task_type, task.payload.clone())
            .max_retries(DEFAULT_MAX_RETRIES)
            .retain(queue.settings().cron_retention);
        let Ok(id) = platform_ports::jobs::JobId::parse(format!("cron:{}:{}", entry.name, tick.timestamp())) else {
            continue;
        };
        let (message, _) = task_message(&job, &id, queue.settings().cron_retention);
        match queue.enqueue_message(&message, Placement::Now, None).await {
            Ok(()) => {
                *entry.prev.lock().unwrap_or_else(PoisonError::into_inner) = Some(Utc::now());
                tracing::debug!(schedule = %entry.name, %tick, task_id = %id, "cron tick enqueued");
                record_event(&queue, &entry.id, &message.id).await;
            }
            Err(JobError::IdConflict(_)) => {
                *entry.prev.lock().unwrap_or_else(PoisonError::into_inner) = Some(Utc::now());
                tracing::debug!(schedule = %entry.name, %tick, "cron tick already enqueued by another instance");
            }
            Err(error) => tracing::error!(schedule = %entry.name, %tick, %error, "could not enqueue a cron tick"),
        }
    }
}

async fn record_event(queue: &RedisQueue, entry_id: &str, task_id: &str) {
    let now = Utc::now();
    let event = SchedulerEnqueueEvent {
        task_id: task_id.to_owned(),
        enqueue_time: Some(Timestamp::from(now)),
    };
    let mut invocation = scripts::RECORD_ENQUEUE_EVENT.prepare_invoke();
    invocation
        .key(keys::scheduler_history(entry_id))
        .arg(now.timestamp())
        .arg(event.encode_to_vec())
        .arg(HISTORY_LIMIT);
    let result: Result<(), _> = queue.core().broker.link.script(&invocation).await;
    if let Err(error) = result {
        tracing::warn!(%error, "could not record a scheduler enqueue event");
    }
}

/// Writes this instance's entries for asynqmon until aborted.
async fn heartbeat_loop(scheduler: RedisScheduler) {
    let every = scheduler.queue.settings().timings.scheduler_heartbeat;
    let mut timer = tokio::time::interval(every);
    loop {
        timer.tick().await;
        let ttl = (every * 2).as_secs().max(1);
        let key = keys::scheduler_entries(&scheduler.id);
        let mut invocation = scripts::WRITE_SCHEDULER_ENTRIES.prepare_invoke();
        invocation.key(&key).arg(ttl);
        for entry in scheduler.entries() {
            invocation.arg(entry);
        }
        let link = &scheduler.queue.core().broker.link;
        let expires = Utc::now()
            .timestamp()
            .saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX));
        let listed: Result<i64, _> = link
            .query(redis::cmd("ZADD").arg(keys::ALL_SCHEDULERS).arg(expires).arg(&key))
            .await;
        let written: Result<(), _> = link.script(&invocation).await;
        if let Err(error) = listed.map(|_| ()).and(written) {
            tracing::warn!(%error, "could not write the scheduler entries");
        }
    }
}

#[async_trait]
impl Scheduler for RedisScheduler {
    async fn schedule(&self, name: &str, spec: &str, job: Arc<dyn CronJob>) -> Result<(), JobError> {
        parse_spec(spec)?;
        if self.state().entries.contains_key(name) {
            return Err(JobError::AlreadyRegistered(name.to_owned()));
        }
        let task_type = format!("cron:{name}");
        self.queue
            .handlers()
            .register(&task_type, Arc::new(CronJobHandler(job)))
            .map_err(|_| JobError::AlreadyRegistered(name.to_owned()))?;
        self.add(PeriodicTask {
            name: name.to_owned(),
            spec: spec.to_owned(),
            task_type,
            payload: Vec::new(),
            queue: self.queue.settings().cron_queue.clone(),
        })
    }

    async fn schedule_task(&self, task: PeriodicTask) -> Result<(), JobError> {
        NewJob::new(&task.queue, &task.task_type, Vec::new())
            .validate()
            .map_err(|(field, reason)| JobError::Invalid {
                field,
                reason: reason.to_owned(),
            })?;
        self.add(task)
    }

    async fn unschedule(&self, name: &str) -> Result<bool, JobError> {
        let removed = self.state().entries.remove(name);
        Ok(removed.is_some_and(|mut entry| {
            if let Some(task) = entry.running.take() {
                task.abort();
            }
            true
        }))
    }
}

#[async_trait]
impl BackgroundService for RedisScheduler {
    fn name(&self) -> &'static str {
        "redis cron scheduler"
    }

    /// Starts every schedule and the entries' heartbeat; again does nothing.
    async fn start(&self) -> Result<(), BoxError> {
        let runtime = Handle::try_current()?;
        let mut state = self.state();
        if state.stopped {
            return Err(JobError::Closed.into());
        }
        if state.runtime.is_none() {
            for entry in state.entries.values_mut() {
                entry.running = Some(runtime.spawn(tick_loop(self.queue.clone(), EntryRun::of(entry))));
            }
            state.heartbeat = Some(runtime.spawn(heartbeat_loop(self.clone())));
            tracing::info!(schedules = state.entries.len(), scheduler_id = %self.id, "cron scheduler started");
            state.runtime = Some(runtime);
        }
        Ok(())
    }

    /// Stops every schedule and removes this instance's entries. Final.
    async fn stop(&self) -> Result<(), BoxError> {
        let (tasks, history) = {
            let mut state = self.state();
            state.stopped = true;
            state.runtime = None;
            let mut tasks: Vec<_> = state.entries.values_mut().filter_map(|e| e.running.take()).collect();
            tasks.extend(state.heartbeat.take());
            let history: Vec<_> = state.entries.values().map(|e| keys::scheduler_history(&e.id)).collect();
            (tasks, history)
        };
        for task in tasks {
            task.abort();
            let _ = task.await;
        }
        let key = keys::scheduler_entries(&self.id);
        let mut pipe = redis::pipe();
        pipe.cmd("ZREM").arg(keys::ALL_SCHEDULERS).arg(&key).ignore();
        pipe.cmd("DEL").arg(&key).ignore();
        for history in history {
            pipe.cmd("DEL").arg(history).ignore();
        }
        let () = self.queue.core().broker.link.pipeline(&pipe).await?;
        Ok(())
    }
}
