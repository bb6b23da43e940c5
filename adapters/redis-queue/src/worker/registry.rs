//! The handlers by task type, as the tower service the apalis worker calls
//! (asynq's `ServeMux`). A type without a handler fails like asynq's
//! `NotFoundHandler`, so the task is retried and then archived with that
//! error. Each handler runs on its own tokio task (so handlers use every
//! core) and is aborted when its attempt is given up.

use std::any::Any;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};
use std::task::{Context, Poll};

use apalis_core::error::BoxDynError;
use apalis_core::task::Task;
use futures::future::BoxFuture;
use platform_ports::jobs::{JobError, JobHandler};
use tokio::task::JoinHandle;
use tower::Service;
use tracing::Instrument as _;

use super::AsynqTask;
use crate::proto::TaskMessage;
use crate::queue::TRACEPARENT_HEADER;

/// Handlers by task type; clones share them.
#[derive(Clone, Default)]
pub struct HandlerRegistry {
    handlers: Arc<RwLock<HashMap<String, Arc<dyn JobHandler>>>>,
}

impl HandlerRegistry {
    /// Adds the handler of `task_type`.
    ///
    /// # Errors
    /// [`JobError::AlreadyRegistered`].
    pub fn register(&self, task_type: &str, handler: Arc<dyn JobHandler>) -> Result<(), JobError> {
        let mut handlers = self.handlers.write().unwrap_or_else(PoisonError::into_inner);
        match handlers.entry(task_type.to_owned()) {
            Entry::Occupied(_) => Err(JobError::AlreadyRegistered(task_type.to_owned())),
            Entry::Vacant(slot) => {
                slot.insert(handler);
                Ok(())
            }
        }
    }

    fn get(&self, task_type: &str) -> Option<Arc<dyn JobHandler>> {
        self.handlers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(task_type)
            .cloned()
    }
}

/// A spawned handler, aborted when its attempt is dropped (deadline passed,
/// lease lost, shutdown).
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

/// The span of one attempt: a consumer span continuing the trace in the
/// task's `traceparent` header (OpenTelemetry's messaging conventions).
fn process_span(message: &TaskMessage) -> tracing::Span {
    let span = tracing::info_span!(
        "job.process",
        otel.name = %format_args!("process {}", message.queue),
        otel.kind = "consumer",
        messaging.system = "asynq",
        messaging.operation.type = "process",
        messaging.operation.name = "process",
        messaging.destination.name = %message.queue,
        messaging.message.id = %message.id,
        job.task_type = %message.r#type,
        job.retried = message.retried,
    );
    let traceparent = message.headers.get(TRACEPARENT_HEADER).map(String::as_str);
    platform_ports::telemetry::follow(&span, traceparent);
    span
}

fn panic_text(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-text panic payload".to_owned())
}

impl Service<Task<AsynqTask>> for HandlerRegistry {
    type Response = ();
    type Error = BoxDynError;
    type Future = BoxFuture<'static, Result<(), BoxDynError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, task: Task<AsynqTask>) -> Self::Future {
        let message = task.args.message().clone();
        let handler = self.get(&message.r#type);
        let span = process_span(&message);
        Box::pin(
            async move {
                let Some(handler) = handler else {
                    return Err(format!("handler not found for task \"{}\"", message.r#type).into());
                };
                let run = AbortOnDrop(tokio::spawn(
                    async move { handler.handle(&message.payload).await }.instrument(tracing::Span::current()),
                ));
                match run.await {
                    Ok(result) => result,
                    Err(err) if err.is_panic() => {
                        Err(format!("panic: {}", panic_text(err.into_panic().as_ref())).into())
                    }
                    Err(err) => Err(Box::new(err)),
                }
            }
            .instrument(span),
        )
    }
}
