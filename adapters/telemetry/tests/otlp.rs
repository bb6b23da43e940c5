//! Spans reach an OTLP receiver (HTTP/protobuf and gRPC fakes on port 0 that
//! decode with `opentelemetry-proto`) in the trace an incoming `traceparent`
//! names, and the outgoing `traceparent` carries that trace on.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use platform_adapter_telemetry::propagation::{inject_into_map, set_parent_from_map, span_ids};
use platform_adapter_telemetry::{OtlpProtocol, OtlpSettings, OtlpTracing};
use platform_ports::lifecycle::BackgroundService as _;
use prost::Message as _;
use tokio::net::TcpListener;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tracing_subscriber::layer::SubscriberExt as _;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// What a receiver got: one export request each.
type Exports = UnboundedReceiver<ExportTraceServiceRequest>;

async fn http_receiver() -> (String, Exports) {
    async fn export(
        State(tx): State<UnboundedSender<ExportTraceServiceRequest>>,
        headers: HeaderMap,
        body: Bytes,
    ) -> (StatusCode, Vec<u8>) {
        assert_eq!(headers["content-type"], "application/x-protobuf");
        tx.send(ExportTraceServiceRequest::decode(body).unwrap()).unwrap();
        (StatusCode::OK, ExportTraceServiceResponse::default().encode_to_vec())
    }
    let (tx, rx) = unbounded_channel();
    let app = axum::Router::new().route("/v1/traces", post(export)).with_state(tx);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), rx)
}

struct FakeCollector(UnboundedSender<ExportTraceServiceRequest>);

#[async_trait::async_trait]
impl TraceService for FakeCollector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.send(request.into_inner()).unwrap();
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

async fn grpc_receiver() -> (String, Exports) {
    let (tx, rx) = unbounded_channel();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    let server = tonic::transport::Server::builder().add_service(TraceServiceServer::new(FakeCollector(tx)));
    tokio::spawn(async move { server.serve_with_incoming(incoming).await.unwrap() });
    (format!("http://{addr}"), rx)
}

fn settings(endpoint: String, protocol: OtlpProtocol, sampling_ratio: f64) -> OtlpSettings {
    OtlpSettings {
        enabled: true,
        endpoint,
        protocol,
        sampling_ratio,
        service_name: "platform-test".into(),
        timeout: Duration::from_secs(5),
        ..OtlpSettings::default()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Flushes (the SDK blocks, so off the runtime's threads) and collects every exported span.
async fn flush_and_collect(tracing: OtlpTracing, exports: &mut Exports) -> (Vec<Span>, Vec<ExportTraceServiceRequest>) {
    tokio::task::spawn_blocking(move || tracing.force_flush())
        .await
        .unwrap()
        .unwrap();
    let mut requests = Vec::new();
    while let Ok(Some(request)) = tokio::time::timeout(Duration::from_millis(300), exports.recv()).await {
        requests.push(request);
    }
    let spans = requests
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| s.spans.clone())
        .collect();
    (spans, requests)
}

/// A server span continuing the caller's trace, with a child query span
/// that propagates the trace onwards.
async fn request_with_a_query(protocol: OtlpProtocol, (endpoint, mut exports): (String, Exports)) {
    let tracing = OtlpTracing::build(&settings(endpoint, protocol, 1.0)).unwrap().unwrap();
    let subscriber = tracing_subscriber::registry().with(tracing.layer());
    let outgoing = tracing::subscriber::with_default(subscriber, || {
        let incoming = HashMap::from([("traceparent".to_owned(), format!("00-{TRACE_ID}-{CALLER_SPAN}-01"))]);
        let request = tracing::info_span!("GET /api/v1/posts", otel.kind = "server", http.request.method = "GET");
        let parent = set_parent_from_map(&request, &incoming).unwrap();
        assert_eq!(parent.trace_id, TRACE_ID);
        let (trace_id, _) = span_ids(&request).unwrap();
        assert_eq!(trace_id, TRACE_ID);
        request.in_scope(|| {
            let query = tracing::info_span!("db.query", db.system.name = "postgresql");
            let mut outgoing = HashMap::new();
            query.in_scope(|| inject_into_map(&tracing::Span::current(), &mut outgoing));
            outgoing
        })
    });
    let (spans, requests) = flush_and_collect(tracing, &mut exports).await;

    let find = |name: &str| {
        spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no `{name}` in {spans:?}"))
    };
    let (request, query) = (find("GET /api/v1/posts"), find("db.query"));
    assert_eq!(hex(&request.trace_id), TRACE_ID);
    assert_eq!(hex(&request.parent_span_id), CALLER_SPAN);
    assert_eq!(request.kind, 2, "SPAN_KIND_SERVER");
    assert_eq!(hex(&query.trace_id), TRACE_ID);
    assert_eq!(query.parent_span_id, request.span_id);
    assert_eq!(
        outgoing["traceparent"],
        format!("00-{TRACE_ID}-{}-01", hex(&query.span_id))
    );
    let service = requests[0].resource_spans[0]
        .resource
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .find(|kv| kv.key == "service.name")
        .and_then(|kv| kv.value.as_ref()?.value.clone());
    assert_eq!(service, Some(Value::StringValue("platform-test".into())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_arrive_over_http_protobuf_in_the_callers_trace() {
    request_with_a_query(OtlpProtocol::HttpProtobuf, http_receiver().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_arrive_over_grpc_in_the_callers_trace() {
    request_with_a_query(OtlpProtocol::Grpc, grpc_receiver().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_callers_sampling_decision_wins_over_the_ratio() {
    let (endpoint, mut exports) = http_receiver().await;
    // Ratio 0: new traces are dropped, but a caller that sampled keeps its trace.
    let tracing = OtlpTracing::build(&settings(endpoint, OtlpProtocol::HttpProtobuf, 0.0))
        .unwrap()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(tracing.layer());
    tracing::subscriber::with_default(subscriber, || {
        let header =
            |flags: &str| HashMap::from([("traceparent".to_owned(), format!("00-{TRACE_ID}-{CALLER_SPAN}-{flags}"))]);
        let sampled = tracing::info_span!("sampled by the caller");
        set_parent_from_map(&sampled, &header("01")).unwrap();
        let unsampled = tracing::info_span!("not sampled by the caller");
        set_parent_from_map(&unsampled, &header("00")).unwrap();
        let _new_trace = tracing::info_span!("a new trace");
    });
    let (spans, _) = flush_and_collect(tracing, &mut exports).await;
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["sampled by the caller"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_collector_neither_slows_spans_nor_hangs_shutdown() {
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut unreachable = settings(format!("http://127.0.0.1:{port}"), OtlpProtocol::HttpProtobuf, 1.0);
    unreachable.timeout = Duration::from_millis(500);
    let tracing = OtlpTracing::build(&unreachable).unwrap().unwrap();
    let subscriber = tracing_subscriber::registry().with(tracing.layer());
    let started = Instant::now();
    tracing::subscriber::with_default(subscriber, || {
        for _ in 0..1000 {
            let _span = tracing::info_span!("work").entered();
        }
    });
    // Recording never waits for the exporter.
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    // The lifecycle's stop flushes and shuts down, bounded by the export timeout.
    let started = Instant::now();
    tracing.stop().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}
