//! [`RedisQueueWorkers`]: the apalis worker, the heartbeat and the
//! maintenance loops as one lifecycle service. Stopping is asynq's graceful
//! shutdown: stop fetching, let tasks in hand finish until the shutdown
//! timeout, then give the rest back to their queues; whatever could not be
//! given back (Redis gone, process killed) is recovered by another server
//! once its lease expires. Nothing is lost.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use apalis::layers::WorkerBuilderExt;
use apalis_core::error::WorkerError;
use apalis_core::worker::builder::WorkerBuilder;
use async_trait::async_trait;
use platform_ports::BoxError;
use platform_ports::lifecycle::BackgroundService;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use super::{AsynqBackend, WorkerShared, heartbeat, maintenance};
use crate::queue::Core;

/// What runs between `start` and `stop`.
struct Running {
    shared: Arc<WorkerShared>,
    stop_worker: oneshot::Sender<()>,
    worker: JoinHandle<Result<(), WorkerError>>,
    stop_loops: watch::Sender<bool>,
    loops: JoinHandle<()>,
}

/// The workers of one instance: start them with the lifecycle (after every
/// handler is registered), stop them on shutdown.
pub struct RedisQueueWorkers {
    core: Arc<Core>,
    running: Mutex<Option<Running>>,
    stopped: AtomicBool,
}

impl RedisQueueWorkers {
    pub(crate) fn new(core: Arc<Core>) -> Self {
        Self {
            core,
            running: Mutex::new(None),
            stopped: AtomicBool::new(false),
        }
    }

    /// This server's id as asynqmon shows it, once started.
    #[must_use]
    pub fn server_id(&self) -> Option<String> {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|running| running.shared.identity.server_id.clone())
    }
}

/// The heartbeat and asynq's maintenance loops until told to stop; the
/// recoverer also runs once at start.
async fn run_loops(shared: Arc<WorkerShared>, mut stop: watch::Receiver<bool>) {
    let timings = shared.core.settings.timings.clone();
    let mut heartbeat = tokio::time::interval(timings.heartbeat_interval);
    let mut forward = tokio::time::interval(timings.forward_interval);
    let mut recover = tokio::time::interval(timings.recover_interval);
    let mut clean = tokio::time::interval(timings.janitor_interval);
    for timer in [&mut heartbeat, &mut forward, &mut recover, &mut clean] {
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    }
    loop {
        tokio::select! {
            // A dropped sender (the service dropped unstopped) also ends the loops.
            () = async { drop(stop.wait_for(|stop| *stop).await) } => break,
            _ = heartbeat.tick() => heartbeat::beat(&shared).await,
            _ = forward.tick() => maintenance::forward(&shared).await,
            _ = recover.tick() => maintenance::recover(&shared).await,
            _ = clean.tick() => maintenance::clean(&shared).await,
        }
    }
    let (server_key, workers_key) = heartbeat::state_keys(&shared);
    if let Err(err) = shared.core.broker.clear_server_state(&server_key, &workers_key).await {
        tracing::warn!(error = %err, "could not clear the server state");
    }
}

#[async_trait]
impl BackgroundService for RedisQueueWorkers {
    fn name(&self) -> &'static str {
        "redis job queue workers"
    }

    /// Starts the worker and the loops; calling it again while they run does nothing.
    async fn start(&self) -> Result<(), BoxError> {
        if self.stopped.load(Ordering::SeqCst) {
            return Err("the job queue workers were stopped".into());
        }
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if running.is_some() {
            return Ok(());
        }
        let settings = &self.core.settings;
        let shared = Arc::new(WorkerShared::new(self.core.clone()));
        let name = format!("asynq:{}", shared.identity.server_id);
        let worker = WorkerBuilder::new(name.as_str())
            .backend(AsynqBackend::new(shared.clone()))
            .enable_tracing()
            .concurrency(settings.concurrency)
            .build(self.core.handlers.clone());
        let (stop_worker, stopped) = oneshot::channel::<()>();
        let worker = tokio::spawn(worker.run_until(async move {
            let _ = stopped.await;
            Ok::<(), WorkerError>(())
        }));
        let (stop_loops, stop) = watch::channel(false);
        let loops = tokio::spawn(run_loops(shared.clone(), stop));
        tracing::info!(
            server_id = %shared.identity.server_id,
            redis = %settings.display_url(),
            concurrency = settings.concurrency,
            queues = ?settings.queues,
            strict_priority = settings.strict_priority,
            "job queue workers started"
        );
        *running = Some(Running {
            shared,
            stop_worker,
            worker,
            stop_loops,
            loops,
        });
        Ok(())
    }

    /// Stops fetching, lets tasks in hand finish for up to the shutdown
    /// timeout, gives the rest back, then clears the server state. Final.
    async fn stop(&self) -> Result<(), BoxError> {
        self.stopped.store(true, Ordering::SeqCst);
        let running = self.running.lock().unwrap_or_else(PoisonError::into_inner).take();
        let Some(running) = running else { return Ok(()) };
        let Running {
            shared,
            stop_worker,
            mut worker,
            stop_loops,
            loops,
        } = running;
        let _ = stop_worker.send(());
        let timeout = self.core.settings.shutdown_timeout;
        let mut outcome = Ok(());
        if tokio::time::timeout(timeout, &mut worker).await.is_err() {
            let left = shared.inflight.len();
            tracing::warn!(
                left,
                ?timeout,
                "tasks still running at the shutdown timeout; giving them back"
            );
            let _ = shared.abort.send(true);
            // Giving back is one script per task; allow for a slow Redis.
            let grace = self.core.settings.command_timeout * 2 + Duration::from_secs(1);
            if tokio::time::timeout(grace, &mut worker).await.is_err() {
                worker.abort();
                outcome = Err(format!("{left} task(s) left to the recoverer after {timeout:?}").into());
            } else {
                outcome = Err(format!("{left} task(s) given back after {timeout:?}").into());
            }
        }
        let _ = stop_loops.send(true);
        let _ = loops.await;
        tracing::info!(server_id = %shared.identity.server_id, "job queue workers stopped");
        outcome
    }
}
