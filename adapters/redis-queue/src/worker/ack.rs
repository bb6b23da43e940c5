//! [`AckLayer`]: the backend middleware that ends each attempt the way
//! asynq's processor does. It bounds the handler by the task's deadline,
//! stops it when the lease is lost or the shutdown timeout passes, then
//! writes the outcome: success (deleted, or completed with a retention),
//! retry with the retry delay, archive once retries are spent (or on
//! `SkipRetry`), drop on `RevokeTask`, or give the task back on shutdown.
//! Nothing is written once the lease has run out: the recoverer owns the
//! task then.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use apalis_core::error::BoxDynError;
use apalis_core::task::Task;
use chrono::Utc;
use futures::future::BoxFuture;
use platform_ports::jobs::FailurePolicy;
use tower::{Layer, Service};

use super::{AsynqTask, Leased, WorkerShared};
use crate::error::RedisQueueError;

/// How often a failed write of an outcome is tried again while the lease holds.
const WRITE_RETRY: Duration = Duration::from_secs(1);

/// Builds [`AckService`]s.
#[derive(Clone)]
pub struct AckLayer {
    shared: Arc<WorkerShared>,
}

impl AckLayer {
    pub(crate) fn new(shared: Arc<WorkerShared>) -> Self {
        Self { shared }
    }
}

impl<S> Layer<S> for AckLayer {
    type Service = AckService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AckService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// Runs one attempt and records how it ended (see the module docs).
#[derive(Clone)]
pub struct AckService<S> {
    inner: S,
    shared: Arc<WorkerShared>,
}

/// How an attempt ended.
enum Ending {
    Finished(Result<(), BoxDynError>),
    LeaseLost,
    Aborted,
}

/// The text asynq records for an error: the error and its sources.
fn error_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

impl<S, Res> Service<Task<AsynqTask>> for AckService<S>
where
    S: Service<Task<AsynqTask>, Response = Res>,
    S::Future: Send + 'static,
    S::Error: Into<BoxDynError>,
    Res: Send + 'static,
{
    type Response = ();
    type Error = BoxDynError;
    type Future = BoxFuture<'static, Result<(), BoxDynError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, task: Task<AsynqTask>) -> Self::Future {
        let leased = task.args.lease().clone();
        let attempt = self.inner.call(task);
        let shared = self.shared.clone();
        Box::pin(async move {
            let mut abort = shared.abort.subscribe();
            let ending = tokio::select! {
                result = attempt => Ending::Finished(result.map(|_| ()).map_err(Into::into)),
                () = tokio::time::sleep(leased.time_left()) => {
                    Ending::Finished(Err("context deadline exceeded".into()))
                }
                () = leased.lost.notified() => Ending::LeaseLost,
                () = async {
                    if abort.wait_for(|aborted| *aborted).await.is_err() {
                        std::future::pending::<()>().await;
                    }
                } => Ending::Aborted,
            };
            let outcome = settle(&shared, &leased, ending).await;
            shared.inflight.remove(&leased.message.id);
            outcome
        })
    }
}

/// Writes how the attempt ended; returns the attempt's own result.
async fn settle(shared: &WorkerShared, leased: &Leased, ending: Ending) -> Result<(), BoxDynError> {
    let broker = &shared.core.broker;
    let message = &leased.message;
    match ending {
        Ending::Finished(Ok(())) => {
            write(leased, "mark done", || broker.succeed(message)).await;
            Ok(())
        }
        Ending::Finished(Err(err)) => {
            let text = error_text(err.as_ref());
            let retried = u32::try_from(message.retried).unwrap_or(0);
            let budget = u32::try_from(message.retry).unwrap_or(0);
            match FailurePolicy::decide(err.as_ref(), retried, budget) {
                FailurePolicy::Revoke => {
                    let mut done = (**message).clone();
                    done.retention = 0;
                    write(leased, "revoke", || broker.succeed(&done)).await;
                }
                FailurePolicy::Archive => {
                    tracing::warn!(task_id = %message.id, task_type = %message.r#type, error = %text, "retries exhausted; archiving");
                    write(leased, "archive", || broker.archive(message, &text)).await;
                }
                FailurePolicy::Retry => {
                    let delay = shared.core.settings.retry_delay.delay(retried);
                    let retry_at = Utc::now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
                    tracing::debug!(task_id = %message.id, task_type = %message.r#type, error = %text, ?delay, "task failed; will retry");
                    write(leased, "retry", || broker.retry(message, retry_at, &text, true)).await;
                }
            }
            Err(err)
        }
        Ending::LeaseLost => {
            tracing::warn!(task_id = %message.id, "lease lost; the recoverer will take the task back");
            Err("asynq: task lease expired".into())
        }
        Ending::Aborted => {
            write(leased, "requeue", || broker.requeue(message)).await;
            tracing::warn!(task_id = %message.id, "shutdown timeout passed; task given back to its queue");
            Err("task aborted at shutdown and given back to its queue".into())
        }
    }
}

/// Writes an outcome while the lease holds, trying again each second when
/// Redis fails (asynq's syncer); gives up when the lease runs out.
async fn write<F, Fut>(leased: &Leased, what: &str, mut op: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), RedisQueueError>>,
{
    loop {
        if !leased.lease_valid() {
            tracing::warn!(task_id = %leased.message.id, what, "lease expired before the outcome was written; leaving it to the recoverer");
            return;
        }
        match op().await {
            Ok(()) => return,
            Err(err) if !err.is_transient() => {
                // The task left `active` under us (deleted, or taken back).
                tracing::warn!(task_id = %leased.message.id, what, error = %err, "outcome refused by Redis");
                return;
            }
            Err(err) => {
                tracing::warn!(task_id = %leased.message.id, what, error = %err, "could not write the outcome; will try again");
                tokio::time::sleep(WRITE_RETRY).await;
            }
        }
    }
}
