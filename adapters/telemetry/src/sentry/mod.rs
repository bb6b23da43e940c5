//! [`SentrySink`]: the error bus's sink for Sentry or any server that takes
//! Sentry envelopes (GlitchTip, Bugsink, self-hosted Sentry).
//!
//! `emit` only queues (bounded, never waits); one background task sends,
//! within a local per-minute budget and the server's own rate limits, and
//! pauses with a growing backoff while the server is unreachable. Whatever is
//! not sent is counted by reason (`queue_full`, `rate_limited`,
//! `unreachable`, `rejected`), never retried: error reporting must not pile up.

mod dsn;
mod envelope;
mod limits;
mod scrub;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use http::{Request, StatusCode};
use platform_ports::BoxError;
use platform_ports::error_bus::{ErrorReport, ErrorSink};
use platform_ports::lifecycle::BackgroundService;
use platform_ports::metrics::{Counter, Label};
use platform_ports::model::SecretString;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use self::dsn::Dsn;
use self::envelope::{EventDefaults, envelope};
use self::limits::{Hold, Limits};
use crate::https::HttpsClient;

/// `error_bus.sentry.*`.
#[derive(Clone, Debug)]
pub struct SentrySettings {
    /// `https://PUBLIC_KEY@HOST/PROJECT_ID`; a secret (it lets anyone post events).
    pub dsn: SecretString,
    /// `environment` on every event.
    pub environment: Option<String>,
    /// `release` on every event (`platform@0.1.0`).
    pub release: Option<String>,
    /// `server_name` on every event (the host or pod).
    pub server_name: Option<String>,
    /// Reports waiting to be sent before new ones are dropped.
    pub queue_capacity: usize,
    /// Events sent per minute at most; the rest are dropped and counted.
    pub max_events_per_minute: u32,
    /// Bound on one send.
    pub timeout: Duration,
}

impl SentrySettings {
    /// Settings for `dsn`: a queue of 100, 60 events a minute, 5 s per send.
    #[must_use]
    pub fn new(dsn: SecretString) -> Self {
        Self {
            dsn,
            environment: None,
            release: None,
            server_name: None,
            queue_capacity: 100,
            max_events_per_minute: 60,
            timeout: Duration::from_secs(5),
        }
    }
}

/// What building the sink can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SentryError {
    /// The DSN is not usable (the message never repeats it).
    #[error("error_bus.sentry.dsn: {0}")]
    Dsn(String),
    /// The HTTP client could not be built.
    #[error("the Sentry HTTP client could not be built")]
    Client(#[source] BoxError),
}

/// Why reports were dropped, as the `reason` label says.
const QUEUE_FULL: &str = "queue_full";
const RATE_LIMITED: &str = "rate_limited";
const UNREACHABLE: &str = "unreachable";
const REJECTED: &str = "rejected";

/// The Sentry sink. Clones share the queue and the counts; add one clone to
/// the error bus and start and stop another in the lifecycle.
#[derive(Clone)]
pub struct SentrySink {
    shared: Arc<Shared>,
}

struct Shared {
    sender: mpsc::Sender<ErrorReport>,
    receiver: Mutex<Option<mpsc::Receiver<ErrorReport>>>,
    worker: Mutex<Option<(oneshot::Sender<()>, JoinHandle<()>)>>,
    outbound: Outbound,
    sent: AtomicU64,
    dropped: AtomicU64,
    dropped_counter: Mutex<Option<Arc<dyn Counter>>>,
}

/// What the worker needs to send.
struct Outbound {
    client: HttpsClient,
    dsn: Dsn,
    defaults: EventDefaults,
    max_events_per_minute: u32,
    timeout: Duration,
}

impl SentrySink {
    /// A sink for `settings`; nothing is sent before [`BackgroundService::start`].
    ///
    /// # Errors
    /// [`SentryError::Dsn`], [`SentryError::Client`].
    pub fn new(settings: SentrySettings) -> Result<Self, SentryError> {
        let dsn = Dsn::parse(settings.dsn.expose()).map_err(SentryError::Dsn)?;
        let client = HttpsClient::new(settings.timeout).map_err(SentryError::Client)?;
        let (sender, receiver) = mpsc::channel(settings.queue_capacity.max(1));
        Ok(Self {
            shared: Arc::new(Shared {
                sender,
                receiver: Mutex::new(Some(receiver)),
                worker: Mutex::default(),
                outbound: Outbound {
                    client,
                    dsn,
                    defaults: EventDefaults {
                        environment: settings.environment,
                        release: settings.release,
                        server_name: settings.server_name,
                    },
                    max_events_per_minute: settings.max_events_per_minute,
                    timeout: settings.timeout,
                },
                sent: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
                dropped_counter: Mutex::default(),
            }),
        })
    }

    /// Counts dropped reports in `counter`, labelled `reason`.
    pub fn set_dropped_counter(&self, counter: Option<Arc<dyn Counter>>) {
        *lock(&self.shared.dropped_counter) = counter;
    }

    /// Events the server accepted so far.
    #[must_use]
    pub fn sent(&self) -> u64 {
        self.shared.sent.load(Ordering::Relaxed)
    }

    /// Reports dropped so far, for any reason.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }
}

impl Shared {
    fn drop_one(&self, reason: &'static str) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        if let Some(counter) = lock(&self.dropped_counter).as_ref() {
            counter.add(1, &[Label::new("reason", reason)]);
        }
    }

    /// Sends one report unless a limit holds it back.
    async fn deliver(&self, limits: &mut Limits, report: &ErrorReport) {
        let now = Instant::now();
        match limits.admit(now) {
            Ok(()) => {}
            Err(Hold::RateLimited) => return self.drop_one(RATE_LIMITED),
            Err(Hold::Unreachable) => return self.drop_one(UNREACHABLE),
        }
        let side = &self.outbound;
        let request = Request::post(&side.dsn.envelope_url)
            .header("content-type", "application/x-sentry-envelope")
            .header("x-sentry-auth", side.dsn.auth_header())
            .body(Bytes::from(envelope(report, &side.defaults)));
        let request = match request {
            Ok(request) => request,
            Err(err) => {
                tracing::warn!(error = %err, "a Sentry request could not be built");
                return self.drop_one(REJECTED);
            }
        };
        match side.client.send(request).await {
            Ok(answer) if answer.status().is_success() => {
                limits.succeeded();
                self.sent.fetch_add(1, Ordering::Relaxed);
            }
            Ok(answer) if answer.status() == StatusCode::TOO_MANY_REQUESTS => {
                limits.limited(Instant::now(), answer.headers());
                self.drop_one(RATE_LIMITED);
            }
            Ok(answer) if answer.status().is_server_error() => {
                limits.failed(Instant::now());
                self.drop_one(UNREACHABLE);
            }
            Ok(answer) => {
                // 4xx: a bad DSN or a refused event; retrying will not help.
                tracing::warn!(status = %answer.status(), "the Sentry server refused an event");
                self.drop_one(REJECTED);
            }
            Err(err) => {
                tracing::debug!(error = %err, "the Sentry server is unreachable");
                limits.failed(Instant::now());
                self.drop_one(UNREACHABLE);
            }
        }
    }
}

#[async_trait]
impl ErrorSink for SentrySink {
    fn name(&self) -> &'static str {
        "sentry"
    }

    async fn emit(&self, report: &ErrorReport) {
        if self.shared.sender.try_send(report.clone()).is_err() {
            self.shared.drop_one(QUEUE_FULL);
        }
    }
}

#[async_trait]
impl BackgroundService for SentrySink {
    fn name(&self) -> &'static str {
        "sentry-sink"
    }

    async fn start(&self) -> Result<(), BoxError> {
        let mut worker = lock(&self.shared.worker);
        let receiver = lock(&self.shared.receiver)
            .take()
            .ok_or("the Sentry sink can only be started once")?;
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(run(Arc::clone(&self.shared), receiver, stopped));
        *worker = Some((stop, task));
        Ok(())
    }

    async fn stop(&self) -> Result<(), BoxError> {
        let Some((stop, mut task)) = lock(&self.shared.worker).take() else {
            return Ok(());
        };
        let _ = stop.send(());
        // Queued reports get one send each, within a bound.
        let bound = self.shared.outbound.timeout * 2;
        if tokio::time::timeout(bound, &mut task).await.is_err() {
            task.abort();
            return Err(format!("the Sentry sink did not drain within {bound:?}").into());
        }
        Ok(())
    }
}

/// Sends queued reports until stopped, then what is still queued.
async fn run(shared: Arc<Shared>, mut receiver: mpsc::Receiver<ErrorReport>, mut stopped: oneshot::Receiver<()>) {
    let mut limits = Limits::new(shared.outbound.max_events_per_minute);
    loop {
        tokio::select! {
            report = receiver.recv() => match report {
                Some(report) => shared.deliver(&mut limits, &report).await,
                None => return,
            },
            _ = &mut stopped => break,
        }
    }
    receiver.close();
    while let Some(report) = receiver.recv().await {
        shared.deliver(&mut limits, &report).await;
    }
}

// The locks guard plain values that no panic can leave half-written.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
