//! The span exporter for each protocol.

use async_trait::async_trait;
use bytes::Bytes;
use http::{Request, Response};
use opentelemetry_http::{HttpClient, HttpError};
use opentelemetry_otlp::tonic_types::transport::ClientTlsConfig;
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig as _, WithHttpConfig as _, WithTonicConfig as _};
use tokio::runtime::Handle;

use super::{OtlpProtocol, OtlpSettings, TracingError};
use crate::https::HttpsClient;

pub(super) fn build(settings: &OtlpSettings) -> Result<SpanExporter, TracingError> {
    let built = match settings.protocol {
        OtlpProtocol::HttpProtobuf => SpanExporter::builder()
            .with_http()
            .with_http_client(RuntimeHttpClient::new(settings)?)
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(settings.traces_url())
            .with_timeout(settings.timeout)
            .build(),
        OtlpProtocol::Grpc => {
            let mut builder = SpanExporter::builder()
                .with_tonic()
                .with_endpoint(settings.traces_url())
                .with_timeout(settings.timeout);
            if settings.endpoint.starts_with("https://") {
                builder = builder.with_tls_config(ClientTlsConfig::new().with_webpki_roots());
            }
            builder.build()
        }
    };
    built.map_err(|e| TracingError::Exporter(Box::new(e)))
}

/// The batch processor exports from its own thread, outside the runtime;
/// the request runs as a task on the runtime the pipeline was built in, and
/// the export thread waits for that task.
#[derive(Debug)]
struct RuntimeHttpClient {
    client: HttpsClient,
    runtime: Handle,
}

impl RuntimeHttpClient {
    fn new(settings: &OtlpSettings) -> Result<Self, TracingError> {
        let runtime = Handle::try_current()
            .map_err(|_| TracingError::Exporter("build the OTLP pipeline inside the Tokio runtime".into()))?;
        let client = HttpsClient::new(settings.timeout).map_err(TracingError::Exporter)?;
        Ok(Self { client, runtime })
    }
}

#[async_trait]
impl HttpClient for RuntimeHttpClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        self.runtime
            .spawn(async move { client.send(request).await })
            .await
            .map_err(|e| format!("the OTLP export task failed: {e}"))?
    }
}
