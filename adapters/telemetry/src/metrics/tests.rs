use std::sync::Arc;

use platform_ports::metrics::{Label, Metrics};

use super::OtelMetrics;

/// The sample line of `family` whose text contains every one of `parts`.
fn line<'a>(text: &'a str, family: &str, parts: &[&str]) -> Option<&'a str> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.starts_with(family) && parts.iter().all(|p| l.contains(p)))
}

#[test]
fn request_duration_is_exported_in_seconds_with_its_labels() {
    let metrics = OtelMetrics::new("test").unwrap();
    let duration = metrics.histogram(
        "http.server.request.duration",
        "Duration of HTTP server requests.",
        "s",
        Some(vec![0.005, 0.05, 0.5, 5.0]),
    );
    let route: Arc<str> = Arc::from("/api/v1/posts");
    let labels = [
        Label::new("http.request.method", "GET"),
        Label::new("http.route", route),
        Label::new("http.response.status_code", 200_i64),
    ];
    duration.record(0.02, &labels);
    duration.record(0.3, &labels);

    let text = metrics.render().unwrap();
    assert!(
        text.contains("# TYPE http_server_request_duration_seconds histogram"),
        "{text}"
    );
    let labels = r#"http_request_method="GET",http_response_status_code="200",http_route="/api/v1/posts""#;
    let bucket = |le: &str| line(&text, "http_server_request_duration_seconds_bucket{", &[labels, le]);
    assert!(bucket(r#"le="0.005""#).unwrap().ends_with(" 0"), "{text}");
    assert!(bucket(r#"le="0.05""#).unwrap().ends_with(" 1"), "{text}");
    assert!(bucket(r#"le="0.5""#).unwrap().ends_with(" 2"), "{text}");
    assert!(bucket(r#"le="+Inf""#).unwrap().ends_with(" 2"), "{text}");
    assert!(
        bucket(r#"le="0.1""#).is_none(),
        "explicit boundaries replace the defaults: {text}"
    );
    let count = line(&text, "http_server_request_duration_seconds_count{", &[labels]).unwrap();
    assert!(count.ends_with(" 2"), "{text}");
}

#[test]
fn no_scope_labels_and_no_target_info() {
    let metrics = OtelMetrics::new("test").unwrap();
    metrics
        .counter("platform.errors", "Errors reported.", "")
        .add(1, &[Label::new("module", "http")]);
    let text = metrics.render().unwrap();
    assert!(!text.contains("otel_scope"), "{text}");
    assert!(!text.contains("target_info"), "{text}");
    assert!(text.contains("platform_errors_total{module=\"http\"} 1"), "{text}");
}

#[test]
fn every_instrument_kind_renders() {
    let metrics = OtelMetrics::default();
    let requests = metrics.counter("http.server.requests", "Requests served.", "{request}");
    requests.add(2, &[]);
    requests.add(3, &[]);
    let active = metrics.up_down_counter("http.server.active_requests", "In-flight requests.", "{request}");
    active.add(5, &[]);
    active.add(-2, &[]);
    let queue = metrics.gauge("jobs.queue.depth", "Jobs waiting.", "{job}");
    queue.record(7.0, &[Label::new("queue", "default")]);
    queue.record(4.0, &[Label::new("queue", "default")]);
    let size = metrics.histogram("blob.size", "Blob sizes.", "By", None);
    size.record(1500.0, &[]);

    let text = metrics.render().unwrap();
    assert!(text.contains("# TYPE http_server_requests_total counter"), "{text}");
    assert!(text.contains("http_server_requests_total 5"), "{text}");
    assert!(text.contains("# TYPE http_server_active_requests gauge"), "{text}");
    assert!(text.contains("http_server_active_requests 3"), "{text}");
    assert!(text.contains("jobs_queue_depth{queue=\"default\"} 4"), "{text}");
    assert!(text.contains("blob_size_bytes_count 1"), "{text}");
    assert!(text.contains("blob_size_bytes_sum 1500"), "{text}");
}

#[test]
fn instances_do_not_share_measurements() {
    let first = OtelMetrics::new("first").unwrap();
    let second = OtelMetrics::new("second").unwrap();
    first.counter("shared.name", "Counted once.", "").add(1, &[]);
    second.counter("shared.name", "Counted once.", "").add(10, &[]);
    let only_first = OtelMetrics::new("third").unwrap();
    only_first.counter("other.name", "Elsewhere.", "").add(1, &[]);

    assert!(first.render().unwrap().contains("shared_name_total 1\n"));
    assert!(second.render().unwrap().contains("shared_name_total 10\n"));
    assert!(!only_first.render().unwrap().contains("shared_name"));
}

#[test]
fn an_instrument_created_twice_adds_to_the_same_series() {
    let metrics = OtelMetrics::new("test").unwrap();
    metrics.counter("jobs.done", "Jobs done.", "").add(1, &[]);
    metrics.counter("jobs.done", "Jobs done.", "").add(1, &[]);
    assert!(metrics.render().unwrap().contains("jobs_done_total 2"));
}

shaku::module! {
    MetricsModule {
        components = [OtelMetrics],
        providers = []
    }
}

#[test]
fn resolves_through_shaku_with_default_parameters() {
    use shaku::HasComponent;
    let module = MetricsModule::builder().build();
    let metrics: Arc<dyn Metrics> = module.resolve();
    metrics.counter("boot.count", "Starts.", "").add(1, &[]);
    assert!(metrics.render().unwrap().contains("boot_count_total 1"));
}
