//! `telemetry.otlp.*`: where spans go and how many.

use std::str::FromStr;
use std::time::Duration;

use super::TracingError;

/// The OTLP transport.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// gRPC (tonic), usually port 4317.
    Grpc,
    /// Protobuf over HTTP POST to `/v1/traces`, usually port 4318 (the spec's default).
    #[default]
    HttpProtobuf,
}

impl FromStr for OtlpProtocol {
    type Err = TracingError;

    /// `grpc` or `http/protobuf` (the names `OTEL_EXPORTER_OTLP_PROTOCOL` uses).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "grpc" => Ok(Self::Grpc),
            "http/protobuf" | "http" => Ok(Self::HttpProtobuf),
            other => Err(TracingError::Settings {
                key: "protocol",
                message: format!("`{other}` is not `grpc` or `http/protobuf`"),
            }),
        }
    }
}

/// How traces are exported.
#[derive(Clone, Debug, PartialEq)]
pub struct OtlpSettings {
    /// Off by default.
    pub enabled: bool,
    /// The collector's base URL (`http://collector:4318`); for HTTP,
    /// `/v1/traces` is added when the URL has no path.
    pub endpoint: String,
    /// gRPC or HTTP/protobuf.
    pub protocol: OtlpProtocol,
    /// Share of new traces kept, 0.0 to 1.0; a caller's decision wins.
    pub sampling_ratio: f64,
    /// `service.name` on every span.
    pub service_name: String,
    /// `service.version`, when known.
    pub service_version: Option<String>,
    /// `deployment.environment.name`, when known.
    pub environment: Option<String>,
    /// Bound on one export request.
    pub timeout: Duration,
}

impl Default for OtlpSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            endpoint: "http://127.0.0.1:4318".to_owned(),
            protocol: OtlpProtocol::HttpProtobuf,
            sampling_ratio: 1.0,
            service_name: "platform".to_owned(),
            service_version: None,
            environment: None,
            timeout: Duration::from_secs(10),
        }
    }
}

impl OtlpSettings {
    pub(super) fn validate(&self) -> Result<(), TracingError> {
        let invalid = |key, message: String| Err(TracingError::Settings { key, message });
        if !(0.0..=1.0).contains(&self.sampling_ratio) {
            return invalid(
                "sampling_ratio",
                format!("{} is not between 0 and 1", self.sampling_ratio),
            );
        }
        if self.service_name.is_empty() {
            return invalid("service_name", "must not be empty".to_owned());
        }
        if self.timeout.is_zero() {
            return invalid("timeout", "must be more than zero".to_owned());
        }
        if !(self.endpoint.starts_with("http://") || self.endpoint.starts_with("https://")) {
            return invalid(
                "endpoint",
                format!("`{}` must start with http:// or https://", self.endpoint),
            );
        }
        Ok(())
    }

    /// The URL spans are posted to.
    pub(super) fn traces_url(&self) -> String {
        let endpoint = self.endpoint.trim_end_matches('/');
        let has_path = endpoint.split("://").nth(1).is_some_and(|rest| rest.contains('/'));
        match self.protocol {
            OtlpProtocol::HttpProtobuf if !has_path => format!("{endpoint}/v1/traces"),
            _ => endpoint.to_owned(),
        }
    }
}
