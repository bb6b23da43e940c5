//! [`AsynqBackend`]: an apalis `Backend` whose tasks come from asynq's
//! queues. `poll_next` runs asynq's dequeue (batched: up to as many tasks
//! as the worker has free slots, from the first non-empty, unpaused queue
//! in weighted or strict order) and leases what it takes; when every queue
//! is empty it sleeps asynq's task-check interval, or until this process
//! enqueues something. `poll_close` gives back tasks taken but never started.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use apalis_core::backend::finalize::Ephemeral;
use apalis_core::backend::{Backend, BackendConfig};
use apalis_core::task::Task;
use apalis_core::task::builder::TaskBuilder;
use apalis_core::task::task_id::TaskId;
use apalis_core::worker::context::WorkerContext;
use chrono::Utc;
use futures::future::BoxFuture;

use super::{AckLayer, AsynqTask, Leased, WorkerShared};
use crate::error::RedisQueueError;
use crate::settings::RedisQueueSettings;

/// The longest wait after a failed dequeue.
const MAX_ERROR_BACKOFF: Duration = Duration::from_secs(5);

/// An apalis backend speaking asynq's protocol. Build it with
/// [`RedisQueueWorkers`](super::RedisQueueWorkers), which runs the worker,
/// the heartbeat that keeps its leases, and asynq's maintenance loops.
pub struct AsynqBackend {
    shared: Arc<WorkerShared>,
    fetching: Option<BoxFuture<'static, Result<Vec<Arc<Leased>>, RedisQueueError>>>,
    waiting: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    taken: VecDeque<Arc<Leased>>,
    closing: Option<BoxFuture<'static, ()>>,
    failures: u32,
}

impl std::fmt::Debug for AsynqBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsynqBackend")
            .field("server_id", &self.shared.identity.server_id)
            .field("taken", &self.taken.len())
            .finish_non_exhaustive()
    }
}

impl AsynqBackend {
    pub(crate) fn new(shared: Arc<WorkerShared>) -> Self {
        Self {
            shared,
            fetching: None,
            waiting: None,
            taken: VecDeque::new(),
            closing: None,
            failures: 0,
        }
    }

    fn task(leased: Arc<Leased>) -> Task<AsynqTask> {
        let message = &leased.message;
        let retried = usize::try_from(message.retried.max(0)).unwrap_or(0);
        let budget = usize::try_from(message.retry.max(0)).unwrap_or(0);
        TaskBuilder::new(AsynqTask { leased: leased.clone() })
            .task_id(TaskId::from_string(message.id.clone()))
            .attempt(retried)
            .max_attempts(budget.saturating_add(1))
            .queue(message.queue.as_str().into())
            .build()
    }

    /// Dequeues up to the worker's free slots and registers their leases.
    async fn fetch(shared: Arc<WorkerShared>) -> Result<Vec<Arc<Leased>>, RedisQueueError> {
        let settings = &shared.core.settings;
        let free = settings.concurrency.saturating_sub(shared.inflight.len()).max(1);
        let lease = chrono::Duration::from_std(settings.timings.lease).unwrap_or(chrono::Duration::MAX);
        for queue in shared.order.next() {
            let lease_until = Utc::now() + lease;
            let messages = shared.core.broker.dequeue(queue, lease_until.timestamp(), free).await?;
            if messages.is_empty() {
                continue;
            }
            let leased: Vec<_> = messages
                .into_iter()
                .map(|message| Arc::new(Leased::new(message, lease_until)))
                .collect();
            for task in &leased {
                shared.inflight.insert(task.clone());
            }
            return Ok(leased);
        }
        Ok(Vec::new())
    }

    /// Sleeps asynq's empty-queue interval (half of it plus a random part),
    /// or until this process enqueues a task.
    fn idle(shared: &Arc<WorkerShared>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let interval = shared.core.settings.timings.task_check_interval;
        let jitter = interval.mul_f64(fastrand::f64());
        let shared = shared.clone();
        Box::pin(async move {
            tokio::select! {
                () = tokio::time::sleep(interval / 2 + jitter) => {}
                () = shared.core.wake.notified() => {}
            }
        })
    }

    fn back_off(&mut self, err: &RedisQueueError) {
        self.failures = self.failures.saturating_add(1);
        let wait = Duration::from_millis(100u64.saturating_mul(1 << self.failures.min(6))).min(MAX_ERROR_BACKOFF);
        if self.failures == 1 || self.failures.is_power_of_two() {
            tracing::error!(error = %err, failures = self.failures, retry_in = ?wait, "dequeue failed");
        }
        self.waiting = Some(Box::pin(tokio::time::sleep(wait)));
    }
}

impl Backend for AsynqBackend {
    type Task = Task<AsynqTask>;
    type Error = RedisQueueError;

    fn poll_ready(&mut self, _cx: &mut Context<'_>, _worker: &WorkerContext) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
        _worker: &WorkerContext,
    ) -> Poll<Option<Result<Self::Task, Self::Error>>> {
        loop {
            if let Some(leased) = self.taken.pop_front() {
                return Poll::Ready(Some(Ok(Self::task(leased))));
            }
            if let Some(waiting) = &mut self.waiting {
                ready!(waiting.as_mut().poll(cx));
                self.waiting = None;
            }
            let shared = self.shared.clone();
            let fetching = self.fetching.get_or_insert_with(|| Box::pin(Self::fetch(shared)));
            let result = ready!(fetching.as_mut().poll(cx));
            self.fetching = None;
            // A failure is logged and retried here: an error returned to
            // apalis would end the worker.
            match result {
                Ok(leased) if leased.is_empty() => self.waiting = Some(Self::idle(&self.shared)),
                Ok(leased) => {
                    self.failures = 0;
                    self.taken.extend(leased);
                }
                Err(err) => self.back_off(&err),
            }
        }
    }

    fn poll_close(&mut self, cx: &mut Context<'_>, _worker: &WorkerContext) -> Poll<Result<(), Self::Error>> {
        if self.closing.is_none() {
            let fetching = self.fetching.take();
            let mut taken: Vec<_> = self.taken.drain(..).collect();
            let shared = self.shared.clone();
            self.closing = Some(Box::pin(async move {
                // A dequeue in flight may already have moved tasks to active.
                if let Some(fetching) = fetching {
                    taken.extend(fetching.await.unwrap_or_default());
                }
                for leased in taken {
                    if let Err(err) = shared.core.broker.requeue(&leased.message).await {
                        tracing::warn!(task_id = %leased.message.id, error = %err, "could not give back an unstarted task; the recoverer will");
                    }
                    shared.inflight.remove(&leased.message.id);
                }
            }));
        }
        if let Some(closing) = &mut self.closing {
            ready!(closing.as_mut().poll(cx));
        }
        Poll::Ready(Ok(()))
    }
}

impl BackendConfig for AsynqBackend {
    type Args = AsynqTask;
    type Id = String;
    type Kind = Ephemeral;
    type Config = RedisQueueSettings;
    type Layer = AckLayer;

    fn config(&self) -> &Self::Config {
        &self.shared.core.settings
    }

    fn middleware(&mut self, _worker: &mut WorkerContext) -> Self::Layer {
        AckLayer::new(self.shared.clone())
    }
}
