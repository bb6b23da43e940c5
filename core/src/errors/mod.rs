//! The error bus: a bounded queue from every module to the error sinks.
//!
//! Publishing never blocks and never awaits: a report that does not fit in
//! the queue is counted as dropped, so a storm of failures cannot slow the
//! requests that cause it. A background consumer delivers queued reports to
//! every sink, and drains the queue on shutdown.

mod log_sink;
#[cfg(test)]
mod tests;

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use futures::FutureExt as _;
use platform_ports::BoxError;
use platform_ports::error_bus::{ErrorContext, ErrorPublisher, ErrorReport, ErrorSink};
use platform_ports::lifecycle::BackgroundService;
use platform_ports::metrics::{Counter, Label, LabelValue};
use platform_ports::model::RequestContext;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use log_sink::{ERROR_BUS_TARGET, LogSink};

/// How many reports the queue holds when no capacity is configured.
pub const DEFAULT_CAPACITY: usize = 1024;

/// How long `stop` waits for the queue to drain when no bound is configured.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Parameters of the [`ErrorBus`] shaku component.
#[derive(Clone, Debug)]
pub struct ErrorBusParameters {
    /// How many reports may wait for the consumer before new ones are dropped.
    pub capacity: usize,
    /// How long `stop` may spend delivering what was queued.
    pub drain_timeout: Duration,
}

impl Default for ErrorBusParameters {
    fn default() -> Self {
        Self {
            capacity: DEFAULT_CAPACITY,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
        }
    }
}

/// The error bus: implements [`ErrorPublisher`] and, as a [`BackgroundService`],
/// runs the consumer that feeds the sinks.
///
/// Clones share one queue, so bootstrap can hand one clone to the container
/// and start and stop another in the lifecycle. Built without a runtime;
/// reports published before `start` wait in the queue.
#[derive(Clone)]
pub struct ErrorBus {
    shared: Arc<Shared>,
}

struct Shared {
    sender: mpsc::Sender<ErrorReport>,
    /// Held until `start` hands it to the consumer (or `stop` drains it).
    receiver: Mutex<Option<mpsc::Receiver<ErrorReport>>>,
    sinks: RwLock<Vec<Arc<dyn ErrorSink>>>,
    consumer: Mutex<Option<Consumer>>,
    drain_timeout: Duration,
    published: AtomicU64,
    dropped: AtomicU64,
    published_counter: RwLock<Option<Arc<dyn Counter>>>,
    dropped_counter: RwLock<Option<Arc<dyn Counter>>>,
}

/// The running consumer and the way to ask it to finish.
struct Consumer {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl ErrorBus {
    /// A bus whose queue holds `capacity` reports (at least one).
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self::with_drain_timeout(capacity, DEFAULT_DRAIN_TIMEOUT)
    }

    /// A bus whose `stop` spends at most `drain_timeout` delivering queued reports.
    #[must_use]
    pub fn with_drain_timeout(capacity: usize, drain_timeout: Duration) -> Self {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        Self {
            shared: Arc::new(Shared {
                sender,
                receiver: Mutex::new(Some(receiver)),
                sinks: RwLock::default(),
                consumer: Mutex::default(),
                drain_timeout,
                published: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
                published_counter: RwLock::default(),
                dropped_counter: RwLock::default(),
            }),
        }
    }

    /// Adds a sink; every report delivered from now on reaches it.
    pub fn add_sink(&self, sink: Arc<dyn ErrorSink>) {
        write(&self.shared.sinks).push(sink);
    }

    /// Counts accepted reports in `counter`, labelled by `module` (`None` stops counting).
    pub fn set_counter(&self, counter: Option<Arc<dyn Counter>>) {
        *write(&self.shared.published_counter) = counter;
    }

    /// Counts dropped reports in `counter`, labelled by `module` (`None` stops counting).
    pub fn set_dropped_counter(&self, counter: Option<Arc<dyn Counter>>) {
        *write(&self.shared.dropped_counter) = counter;
    }

    /// Reports accepted into the queue so far.
    #[must_use]
    pub fn published(&self) -> u64 {
        self.shared.published.load(Ordering::Relaxed)
    }

    /// Reports dropped so far (queue full, or published after `stop`).
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }
}

impl Default for ErrorBus {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

// Written by hand rather than derived: the queue is built from the capacity,
// and the bus is a shared handle that the lifecycle also holds.
impl<M: shaku::Module> shaku::Component<M> for ErrorBus {
    type Interface = dyn ErrorPublisher;
    type Parameters = ErrorBusParameters;

    fn build(_: &mut shaku::ModuleBuildContext<M>, params: ErrorBusParameters) -> Box<dyn ErrorPublisher> {
        Box::new(Self::with_drain_timeout(params.capacity, params.drain_timeout))
    }
}

impl ErrorPublisher for ErrorBus {
    fn publish(&self, report: ErrorReport) {
        let shared = &self.shared;
        let counter = read(&shared.published_counter).clone();
        // The label is taken before the report moves into the queue.
        let label = counter.as_ref().map(|_| module_label(&report));
        match shared.sender.try_send(report) {
            Ok(()) => {
                shared.published.fetch_add(1, Ordering::Relaxed);
                if let (Some(counter), Some(label)) = (counter, label) {
                    counter.add(1, &[label]);
                }
            }
            Err(TrySendError::Full(report)) => shared.count_dropped(&report),
            Err(TrySendError::Closed(report)) => {
                shared.count_dropped(&report);
                // Errors during shutdown still deserve a trace.
                LogSink::log(&report);
            }
        }
    }

    fn publish_with_context(&self, ctx: &RequestContext, mut report: ErrorReport) {
        let from_request = ErrorContext::from(ctx);
        let context = &mut report.context;
        context.request_id = context.request_id.take().or(from_request.request_id);
        context.user_id = context.user_id.or(from_request.user_id);
        context.tenant_id = context.tenant_id.or(from_request.tenant_id);
        context.trace_id = context.trace_id.take().or(from_request.trace_id);
        self.publish(report);
    }
}

#[async_trait]
impl BackgroundService for ErrorBus {
    fn name(&self) -> &'static str {
        "error-bus"
    }

    async fn start(&self) -> Result<(), BoxError> {
        let mut consumer = lock(&self.shared.consumer);
        let receiver = lock(&self.shared.receiver)
            .take()
            .ok_or("the error bus can only be started once")?;
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(consume(Arc::clone(&self.shared), receiver, stopped));
        *consumer = Some(Consumer { stop, task });
        Ok(())
    }

    async fn stop(&self) -> Result<(), BoxError> {
        let drain_timeout = self.shared.drain_timeout;
        let consumer = lock(&self.shared.consumer).take();
        let Some(Consumer { stop, mut task }) = consumer else {
            // Never started: deliver what was queued here.
            let receiver = lock(&self.shared.receiver).take();
            if let Some(receiver) = receiver {
                tokio::time::timeout(drain_timeout, drain(&self.shared, receiver))
                    .await
                    .map_err(|_| format!("the error bus did not drain within {drain_timeout:?}"))?;
            }
            return Ok(());
        };
        // Fails only when the consumer already ended, which the join reports.
        let _ = stop.send(());
        match tokio::time::timeout(drain_timeout, &mut task).await {
            Ok(joined) => joined.map_err(|e| format!("the error bus consumer failed: {e}").into()),
            Err(_) => {
                task.abort();
                Err(format!("the error bus did not drain within {drain_timeout:?}").into())
            }
        }
    }
}

impl Shared {
    fn count_dropped(&self, report: &ErrorReport) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        if let Some(counter) = read(&self.dropped_counter).as_ref() {
            counter.add(1, &[module_label(report)]);
        }
    }

    /// Hands one report to every sink, one after the other.
    async fn deliver(&self, report: &ErrorReport) {
        let sinks = read(&self.sinks).clone();
        for sink in sinks {
            // A faulty sink must not stop delivery to the others, nor kill the consumer.
            if AssertUnwindSafe(sink.emit(report)).catch_unwind().await.is_err() {
                tracing::error!(target: ERROR_BUS_TARGET, sink = sink.name(), "an error sink panicked");
            }
        }
    }
}

/// Delivers reports until asked to stop, then drains the queue.
async fn consume(shared: Arc<Shared>, mut receiver: mpsc::Receiver<ErrorReport>, mut stopped: oneshot::Receiver<()>) {
    loop {
        tokio::select! {
            report = receiver.recv() => match report {
                Some(report) => shared.deliver(&report).await,
                None => return,
            },
            _ = &mut stopped => break,
        }
    }
    drain(&shared, receiver).await;
}

/// Closes the queue to new reports and delivers those already in it.
async fn drain(shared: &Shared, mut receiver: mpsc::Receiver<ErrorReport>) {
    receiver.close();
    while let Some(report) = receiver.recv().await {
        shared.deliver(&report).await;
    }
}

/// The `module` label of a report; static module names cost no allocation.
fn module_label(report: &ErrorReport) -> Label {
    let value = match &report.context.module {
        Some(std::borrow::Cow::Borrowed(module)) => LabelValue::Static(module),
        Some(std::borrow::Cow::Owned(module)) => LabelValue::Owned(module.clone()),
        None => LabelValue::Static("unknown"),
    };
    Label { key: "module", value }
}

// The bus's locks guard plain values that no panic can leave half-written.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}
