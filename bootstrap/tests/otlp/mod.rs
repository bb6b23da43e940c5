//! Reading what a test's OTLP/HTTP receiver was sent: shared by the suites
//! that check exported spans.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;

/// The export request bodies a receiver got, in arrival order.
pub type Received = Arc<Mutex<Vec<Bytes>>>;

/// Lower-case hex, as trace and span ids are written in `traceparent`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A span attribute's value as text (strings and integers as written).
pub fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
        .map(|value| match value {
            AnyValue::StringValue(s) => s.clone(),
            AnyValue::IntValue(i) => i.to_string(),
            other => format!("{other:?}"),
        })
}

/// Every span of every export request received so far.
pub fn spans(got: &Received) -> Vec<Span> {
    got.lock()
        .unwrap()
        .iter()
        .flat_map(|body| ExportTraceServiceRequest::decode(body.clone()).unwrap().resource_spans)
        .flat_map(|r| r.scope_spans)
        .flat_map(|s| s.spans)
        .collect()
}

/// Runs `app` on 127.0.0.1 port 0 on its own thread; returns the address.
pub fn serve(app: axum::Router) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    rx.recv().unwrap().to_string()
}

/// A fake OTLP/HTTP collector on port 0 keeping every body posted to `path`.
pub fn collector(path: &'static str) -> (String, Received) {
    async fn keep(State(got): State<Received>, body: Bytes) -> Vec<u8> {
        got.lock().unwrap().push(body);
        ExportTraceServiceResponse::default().encode_to_vec()
    }
    let got: Received = Arc::default();
    let app = axum::Router::new().route(path, post(keep)).with_state(Arc::clone(&got));
    (serve(app), got)
}
