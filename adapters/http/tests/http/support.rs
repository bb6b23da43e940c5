//! A served router, a recording `Metrics` fake and a recording error publisher.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use platform_adapter_http::{HttpServer, HttpSettings, ModuleRoutes, OperationalDeps, build_router};
use platform_ports::auth::Authenticator;
use platform_ports::error_bus::{ErrorContext, ErrorReport, MockErrorPublisher};
use platform_ports::health::MockHealthRegistry;
use platform_ports::metrics::{Counter, Gauge, Histogram, Label, LabelValue, Metrics, MetricsError, UpDownCounter};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing_subscriber::fmt::MakeWriter;

/// One call to an instrument.
#[derive(Clone, Debug)]
pub struct Measurement {
    pub instrument: &'static str,
    pub value: f64,
    pub labels: Vec<Label>,
}

impl Measurement {
    /// The label's value, if present.
    pub fn label(&self, key: &str) -> Option<&LabelValue> {
        self.labels.iter().find(|l| l.key == key).map(|l| &l.value)
    }
}

type Log = Arc<Mutex<Vec<Measurement>>>;

struct Recorder {
    name: &'static str,
    log: Log,
}

impl Counter for Recorder {
    fn add(&self, value: u64, labels: &[Label]) {
        #[allow(clippy::cast_precision_loss)]
        let value = value as f64;
        self.log.lock().unwrap().push(Measurement {
            instrument: self.name,
            value,
            labels: labels.to_vec(),
        });
    }
}

impl Histogram for Recorder {
    fn record(&self, value: f64, labels: &[Label]) {
        self.log.lock().unwrap().push(Measurement {
            instrument: self.name,
            value,
            labels: labels.to_vec(),
        });
    }
}

/// An instrument as created: name, unit, histogram boundaries.
pub type Instrument = (&'static str, &'static str, Option<Vec<f64>>);

/// Records every measurement and the instruments created.
pub struct FakeMetrics {
    pub log: Log,
    pub created: Mutex<Vec<Instrument>>,
    pub rendered: Result<String, String>,
}

impl FakeMetrics {
    pub fn new(rendered: Result<String, String>) -> Self {
        Self {
            log: Log::default(),
            created: Mutex::default(),
            rendered,
        }
    }

    pub fn measurements(&self, instrument: &str) -> Vec<Measurement> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.instrument == instrument)
            .cloned()
            .collect()
    }
}

impl Metrics for FakeMetrics {
    fn counter(&self, name: &'static str, _: &'static str, unit: &'static str) -> Arc<dyn Counter> {
        self.created.lock().unwrap().push((name, unit, None));
        Arc::new(Recorder {
            name,
            log: Arc::clone(&self.log),
        })
    }

    fn up_down_counter(&self, name: &'static str, _: &'static str, _: &'static str) -> Arc<dyn UpDownCounter> {
        panic!("the HTTP adapter does not create up-down counters ({name})")
    }

    fn histogram(
        &self,
        name: &'static str,
        _: &'static str,
        unit: &'static str,
        boundaries: Option<Vec<f64>>,
    ) -> Arc<dyn Histogram> {
        self.created.lock().unwrap().push((name, unit, boundaries));
        Arc::new(Recorder {
            name,
            log: Arc::clone(&self.log),
        })
    }

    fn gauge(&self, name: &'static str, _: &'static str, _: &'static str) -> Arc<dyn Gauge> {
        panic!("the HTTP adapter does not create gauges ({name})")
    }

    fn render(&self) -> Result<String, MetricsError> {
        self.rendered.clone().map_err(MetricsError)
    }
}

/// A report published with a request's context: (request id, report).
pub type Published = Arc<Mutex<Vec<(String, ErrorReport)>>>;

/// What a test may change before the app starts.
pub struct Setup {
    pub api: ModuleRoutes,
    pub health: MockHealthRegistry,
    pub rendered: Result<String, String>,
    pub request_timeout: Duration,
    pub max_body_bytes: usize,
    pub authenticator: Option<Arc<dyn Authenticator>>,
}

impl Setup {
    pub fn new(api: impl Into<ModuleRoutes>) -> Self {
        Self {
            api: api.into(),
            health: MockHealthRegistry::new(),
            rendered: Ok(String::new()),
            request_timeout: Duration::from_secs(10),
            max_body_bytes: 64 * 1024,
            authenticator: None,
        }
    }

    pub async fn spawn(self, drain_timeout: Duration) -> TestApp {
        logs();
        let metrics = Arc::new(FakeMetrics::new(self.rendered));
        let published = Published::default();
        let mut errors = MockErrorPublisher::new();
        let sink = Arc::clone(&published);
        errors.expect_publish_with_context().returning(move |ctx, mut report| {
            // What the real publisher does: the context fills the gaps.
            let from_ctx = ErrorContext::from(ctx);
            report.context.user_id = report.context.user_id.or(from_ctx.user_id);
            report.context.tenant_id = report.context.tenant_id.or(from_ctx.tenant_id);
            sink.lock().unwrap().push((ctx.request_id.to_string(), report));
        });
        errors.expect_publish().never();

        let settings = HttpSettings {
            host: "127.0.0.1".to_owned(),
            port: 0,
            request_timeout: self.request_timeout,
            shutdown_timeout: drain_timeout,
            max_body_bytes: self.max_body_bytes,
        };
        let deps = OperationalDeps {
            trace_context: None,
            health: Arc::new(self.health),
            metrics: metrics.clone(),
            errors: Arc::new(errors),
            authenticator: self.authenticator,
            api_keys: None,
        };
        let router = build_router(&deps, &settings, [self.api]);
        let server = HttpServer::bind(&settings).await.unwrap();
        let addr = server.local_addr();
        assert_ne!(addr.port(), 0);
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let task = tokio::spawn(server.serve(router, shutdown, drain_timeout));
        TestApp {
            addr,
            client: client(),
            stop: Some(stop),
            task,
            metrics,
            published,
        }
    }
}

/// A running server.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<io::Result<bool>>,
    pub metrics: Arc<FakeMetrics>,
    pub published: Published,
}

impl TestApp {
    pub async fn start(api: impl Into<ModuleRoutes>) -> Self {
        Setup::new(api).spawn(Duration::from_secs(5)).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// Signals shutdown.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).unwrap();
        }
    }

    pub fn published(&self) -> Vec<(String, ErrorReport)> {
        self.published.lock().unwrap().clone()
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// The response's `x-request-id`.
pub fn request_id(response: &reqwest::Response) -> String {
    response.headers()["x-request-id"].to_str().unwrap().to_owned()
}

/// Asserts a problem+json response and returns its body.
pub async fn problem(response: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let id = request_id(&response);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["type"], "about:blank");
    assert_eq!(body["request_id"], id.as_str(), "the body names the echoed request id");
    body
}

/// Every JSON log line of this test binary.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    /// The lines so far, parsed.
    pub fn lines(&self) -> Vec<serde_json::Value> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// The global subscriber, installed before any server starts.
///
/// Global rather than per-test: tracing caches each callsite's interest, and
/// a thread-local subscriber races with tests on other threads hitting the
/// same callsites first. Tests tell their lines apart by request id.
pub fn logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_writer(captured.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        captured
    })
}
