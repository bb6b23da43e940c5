#![allow(clippy::unwrap_used, reason = "tests")]

use super::propagation::TraceParent;
use super::*;

#[test]
fn protocols_parse_by_their_otel_names() {
    assert_eq!("grpc".parse::<OtlpProtocol>().unwrap(), OtlpProtocol::Grpc);
    assert_eq!(
        "http/protobuf".parse::<OtlpProtocol>().unwrap(),
        OtlpProtocol::HttpProtobuf
    );
    let err = "thrift".parse::<OtlpProtocol>().unwrap_err().to_string();
    assert_eq!(
        err,
        "telemetry.otlp.protocol: `thrift` is not `grpc` or `http/protobuf`"
    );
}

#[test]
fn the_http_url_gets_the_traces_path_only_when_it_has_none() {
    let mut settings = OtlpSettings {
        endpoint: "http://collector:4318/".into(),
        ..OtlpSettings::default()
    };
    assert_eq!(settings.traces_url(), "http://collector:4318/v1/traces");
    settings.endpoint = "https://otlp.example.com/custom/traces".into();
    assert_eq!(settings.traces_url(), "https://otlp.example.com/custom/traces");
    settings.protocol = OtlpProtocol::Grpc;
    settings.endpoint = "http://collector:4317".into();
    assert_eq!(settings.traces_url(), "http://collector:4317");
}

#[test]
fn bad_settings_name_their_key_and_off_builds_nothing() {
    let ratio = OtlpSettings {
        enabled: true,
        sampling_ratio: 1.5,
        ..OtlpSettings::default()
    };
    assert!(
        OtlpTracing::build(&ratio)
            .unwrap_err()
            .to_string()
            .starts_with("telemetry.otlp.sampling_ratio:")
    );
    let endpoint = OtlpSettings {
        enabled: true,
        endpoint: "collector:4318".into(),
        ..OtlpSettings::default()
    };
    assert!(
        OtlpTracing::build(&endpoint)
            .unwrap_err()
            .to_string()
            .starts_with("telemetry.otlp.endpoint:")
    );
    assert!(OtlpTracing::build(&OtlpSettings::default()).unwrap().is_none());
}

#[test]
fn traceparent_parses_valid_headers_only() {
    let parsed = TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
    assert_eq!(parsed.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(parsed.parent_span_id, "00f067aa0ba902b7");
    assert!(parsed.sampled);
    assert!(
        !TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
            .unwrap()
            .sampled
    );
    for bad in [
        "",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
    ] {
        assert!(TraceParent::parse(bad).is_none(), "{bad}");
    }
}
