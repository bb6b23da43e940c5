use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use platform_ports::error_bus::{ErrorContext, ErrorPublisher, ErrorReport, ErrorSink};
use platform_ports::lifecycle::BackgroundService;
use platform_ports::metrics::{Counter, Label, LabelValue};
use platform_ports::model::{Actor, RequestContext, TenantId, UserId};

use super::{ERROR_BUS_TARGET, ErrorBus, ErrorBusParameters, LogSink};

/// Keeps every report it receives.
#[derive(Default)]
struct Collect(Mutex<Vec<ErrorReport>>);

impl Collect {
    fn messages(&self) -> Vec<String> {
        self.0.lock().unwrap().iter().map(|r| r.message.clone()).collect()
    }
}

#[async_trait]
impl ErrorSink for Collect {
    fn name(&self) -> &'static str {
        "collect"
    }

    async fn emit(&self, report: &ErrorReport) {
        // Yield so delivery interleaves with the publisher, as a real sink would.
        tokio::task::yield_now().await;
        self.0.lock().unwrap().push(report.clone());
    }
}

/// Never finishes delivering.
struct Stuck;

#[async_trait]
impl ErrorSink for Stuck {
    fn name(&self) -> &'static str {
        "stuck"
    }

    async fn emit(&self, _report: &ErrorReport) {
        std::future::pending::<()>().await;
    }
}

struct Panics;

#[async_trait]
impl ErrorSink for Panics {
    fn name(&self) -> &'static str {
        "panics"
    }

    async fn emit(&self, _report: &ErrorReport) {
        panic!("sink bug")
    }
}

/// Remembers the `module` label of every increment.
#[derive(Default)]
struct Increments(Mutex<Vec<LabelValue>>);

impl Counter for Increments {
    fn add(&self, value: u64, labels: &[Label]) {
        assert_eq!(labels.len(), 1);
        assert_eq!(labels[0].key, "module");
        for _ in 0..value {
            self.0.lock().unwrap().push(labels[0].value.clone());
        }
    }
}

fn request(user_id: UserId, tenant_id: TenantId) -> RequestContext {
    RequestContext {
        request_id: Arc::from("req-1"),
        trace_id: Some(Arc::from("4bf92f3577b34da6a3ce929d0e0e4736")),
        actor: Some(Actor {
            user_id,
            roles: vec!["admin".into()],
            tenant_id,
            session_id: None,
            api_key: None,
        }),
        tenant_id,
        client_ip: None,
        user_agent: None,
    }
}

#[tokio::test]
async fn published_reports_reach_the_sinks_with_their_context() {
    let bus = ErrorBus::new(16);
    let sink = Arc::new(Collect::default());
    bus.add_sink(sink.clone());
    bus.start().await.unwrap();

    let (user, tenant) = (UserId::new(), TenantId(uuid::Uuid::now_v7()));
    let ctx = request(user, tenant);
    bus.publish_with_context(&ctx, ErrorReport::message("insert failed").in_module("identity"));
    let mut own = ErrorReport::message("relay failed");
    own.context.request_id = Some(Arc::from("job-7"));
    bus.publish_with_context(&ctx, own);
    bus.publish(ErrorReport::message("no context"));
    bus.stop().await.unwrap();

    let reports = sink.0.lock().unwrap().clone();
    assert_eq!(reports.len(), 3);
    let first = &reports[0].context;
    assert_eq!(first.request_id.as_deref(), Some("req-1"));
    assert_eq!(first.user_id, Some(user));
    assert_eq!(first.tenant_id, Some(tenant));
    assert_eq!(first.trace_id.as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
    assert_eq!(first.module.as_deref(), Some("identity"));
    let second = &reports[1].context;
    assert_eq!(
        second.request_id.as_deref(),
        Some("job-7"),
        "the report's own context wins"
    );
    assert_eq!(second.user_id, Some(user));
    assert_eq!(reports[2].context, Default::default());
    assert_eq!(bus.published(), 3);
    assert_eq!(bus.dropped(), 0);
}

#[test]
fn a_full_queue_drops_without_waiting() {
    // No runtime and no consumer: publishing must still return at once.
    let bus = ErrorBus::new(1);
    bus.publish(ErrorReport::message("first"));
    bus.publish(ErrorReport::message("second"));
    bus.publish(ErrorReport::message("third"));
    assert_eq!(bus.published(), 1);
    assert_eq!(bus.dropped(), 2);
}

#[tokio::test]
async fn stop_drains_what_was_queued() {
    let bus = ErrorBus::new(256);
    let sink = Arc::new(Collect::default());
    bus.add_sink(sink.clone());
    bus.start().await.unwrap();
    for i in 0..200 {
        bus.publish(ErrorReport::message(format!("error {i}")));
    }
    bus.stop().await.unwrap();
    let expected: Vec<String> = (0..200).map(|i| format!("error {i}")).collect();
    assert_eq!(sink.messages(), expected);

    // The queue is closed now: later reports are counted, not lost silently.
    bus.publish(ErrorReport::message("after stop"));
    assert_eq!(bus.dropped(), 1);
    assert_eq!(sink.messages().len(), 200);
}

#[tokio::test]
async fn stop_without_start_delivers_the_queue() {
    let bus = ErrorBus::new(1);
    let sink = Arc::new(Collect::default());
    bus.add_sink(sink.clone());
    bus.publish(ErrorReport::message("kept"));
    bus.publish(ErrorReport::message("dropped"));
    bus.stop().await.unwrap();
    assert_eq!(sink.messages(), ["kept"]);
    assert_eq!(bus.dropped(), 1);
}

#[tokio::test(start_paused = true)]
async fn stop_gives_up_after_the_drain_timeout() {
    let bus = ErrorBus::with_drain_timeout(8, Duration::from_millis(100));
    bus.add_sink(Arc::new(Stuck));
    bus.start().await.unwrap();
    bus.publish(ErrorReport::message("never delivered"));
    let err = bus.stop().await.unwrap_err();
    assert_eq!(err.to_string(), "the error bus did not drain within 100ms");
}

#[tokio::test]
async fn starting_twice_is_refused() {
    let bus = ErrorBus::default();
    bus.start().await.unwrap();
    assert!(bus.start().await.is_err());
    bus.stop().await.unwrap();
}

#[tokio::test]
async fn a_panicking_sink_does_not_stop_delivery() {
    let bus = ErrorBus::new(8);
    let sink = Arc::new(Collect::default());
    bus.add_sink(Arc::new(Panics));
    bus.add_sink(sink.clone());
    bus.start().await.unwrap();
    bus.publish(ErrorReport::message("one"));
    bus.publish(ErrorReport::message("two"));
    bus.stop().await.unwrap();
    assert_eq!(sink.messages(), ["one", "two"]);
}

#[tokio::test]
async fn counters_are_labelled_by_module() {
    let bus = ErrorBus::new(2);
    let published = Arc::new(Increments::default());
    let dropped = Arc::new(Increments::default());
    bus.set_counter(Some(published.clone()));
    bus.set_dropped_counter(Some(dropped.clone()));
    bus.publish(ErrorReport::message("a").in_module("http"));
    bus.publish(ErrorReport::message("b").in_module(format!("job:{}", "mail")));
    bus.publish(ErrorReport::message("c"));
    assert_eq!(
        *published.0.lock().unwrap(),
        [LabelValue::Static("http"), LabelValue::Owned("job:mail".into())]
    );
    assert_eq!(*dropped.0.lock().unwrap(), [LabelValue::Static("unknown")]);

    bus.set_counter(None);
    bus.stop().await.unwrap();
    bus.publish(ErrorReport::message("d").in_module("outbox"));
    assert_eq!(published.0.lock().unwrap().len(), 2);
    assert_eq!(dropped.0.lock().unwrap().last(), Some(&LabelValue::Static("outbox")));
}

/// One captured `tracing` event: target, level and fields.
type Captured = (String, tracing::Level, BTreeMap<String, String>);

/// A minimal subscriber keeping every event.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Captured>>>);

struct Fields(BTreeMap<String, String>);

impl tracing::field::Visit for Fields {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(BTreeMap::new());
        event.record(&mut fields);
        let meta = event.metadata();
        self.0
            .lock()
            .unwrap()
            .push((meta.target().to_owned(), *meta.level(), fields.0));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[derive(Debug, thiserror::Error)]
#[error("query failed")]
struct QueryFailed(#[source] std::io::Error);

#[tokio::test]
async fn the_log_sink_emits_one_error_event_with_the_context() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let (user, tenant) = (UserId::new(), TenantId(uuid::Uuid::now_v7()));
    let mut report =
        ErrorReport::from_error(&QueryFailed(std::io::Error::other("connection reset"))).in_module("identity");
    report.context = ErrorContext {
        module: report.context.module.take(),
        ..ErrorContext::from(&request(user, tenant))
    };

    LogSink.emit(&report).await;

    let events = capture.0.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    let (target, level, fields) = &events[0];
    assert_eq!(target, ERROR_BUS_TARGET);
    assert_eq!(*level, tracing::Level::ERROR);
    assert_eq!(fields["message"], "query failed");
    assert_eq!(fields["chain"], r#"["connection reset"]"#);
    assert_eq!(fields["request_id"], "req-1");
    assert_eq!(fields["user_id"], user.to_string());
    assert_eq!(fields["tenant_id"], tenant.to_string());
    assert_eq!(fields["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(fields["module"], "identity");
}

#[tokio::test]
async fn the_log_sink_omits_absent_context() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    LogSink.emit(&ErrorReport::message("bare")).await;
    let events = capture.0.lock().unwrap().clone();
    let fields = &events[0].2;
    assert_eq!(fields["message"], "bare");
    for absent in ["request_id", "user_id", "tenant_id", "trace_id", "module"] {
        assert!(!fields.contains_key(absent), "{absent} should be absent: {fields:?}");
    }
}

shaku::module! {
    ErrorModule {
        components = [ErrorBus],
        providers = []
    }
}

#[test]
fn resolves_through_shaku_with_its_parameters() {
    use shaku::HasComponent;
    let module = ErrorModule::builder()
        .with_component_parameters::<ErrorBus>(ErrorBusParameters {
            capacity: 1,
            ..ErrorBusParameters::default()
        })
        .build();
    let publisher: Arc<dyn ErrorPublisher> = module.resolve();
    // Nothing consumes: the second report is dropped, and publishing still returns.
    publisher.publish(ErrorReport::message("first"));
    publisher.publish(ErrorReport::message("second"));
    assert_eq!(ErrorBusParameters::default().capacity, super::DEFAULT_CAPACITY);
}
