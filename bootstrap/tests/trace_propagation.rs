//! One trace from a request to the work it leaves behind, on the memory
//! profile, with `telemetry.otlp.*` pointed at a fake OTLP/HTTP receiver on
//! port 0: a blog publish carrying a `traceparent` reaches, in that trace,
//! the in-process bus subscriber that fans the event out to webhooks
//! (through the outbox), the job worker that delivers it, and the webhook
//! receiver's `traceparent` header; a password-reset request's mail job is
//! handled by the worker in the request's trace, and the mailer's send to
//! SES (moto, `.ci/services/moto.sh`) or to an SMTP server (the capture
//! server, `.ci/services/smtp.sh`) is a client span under that job. On the
//! Kafka profile (tansu, `.ci/services/kafka.sh`) a publish's trace runs
//! through the outbox relay's producer span to the subscriber's consumer
//! span and on to the webhook.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod otlp;
mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use opentelemetry_proto::tonic::trace::v1::Span;
use otlp::{attribute, hex, spans};
use serde_json::{Value, json};
use support::{ADMIN_PASSWORD, Running, http, login, skip_or_fail, unique};

const PUBLISH_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const RESET_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const KAFKA_TRACE: &str = "7c1a2b3d4e5f60718293a4b5c6d7e8f9";
const CALLER_SPAN: &str = "00f067aa0ba902b7";
const SPAN_KIND_SERVER: i32 = 2;
const SPAN_KIND_CLIENT: i32 = 3;
const SPAN_KIND_PRODUCER: i32 = 4;
const SPAN_KIND_CONSUMER: i32 = 5;

type Headers = Arc<Mutex<Vec<HeaderMap>>>;

/// A webhook receiver keeping the headers of every delivery.
fn receiver() -> (String, Headers) {
    async fn keep(State(got): State<Headers>, headers: HeaderMap) {
        got.lock().unwrap().push(headers);
    }
    let got: Headers = Arc::default();
    let app = axum::Router::new()
        .route("/hook", post(keep))
        .with_state(Arc::clone(&got));
    (format!("http://{}/hook", otlp::serve(app)), got)
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SIGTERM, then wait: the lifecycle's last stop flushes the span exporter.
fn stop(running: &mut Running) {
    let pid = running.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    wait_for("the platform to stop", || running.child.try_wait().unwrap().is_some());
}

fn post_json(addr: &str, path: &str, headers: &[(&str, &str)], body: &Value) -> Value {
    let (status, reply) = http(addr, "POST", path, headers, Some(&body.to_string()));
    assert!((200..300).contains(&status), "POST {path}: {status} {reply}");
    serde_json::from_str(&reply).unwrap_or(Value::Null)
}

/// A platform exporting to the collector at `otlp`, where only the callers'
/// sampled flags export anything (ratio 0): the setup requests stay out of
/// the collector.
fn traced_platform(otlp: &str) -> std::process::Command {
    let mut cmd = support::platform();
    cmd.env("PLATFORM__TELEMETRY__OTLP__ENABLED", "true")
        .env("PLATFORM__TELEMETRY__OTLP__ENDPOINT", format!("http://{otlp}"))
        .env("PLATFORM__TELEMETRY__OTLP__PROTOCOL", "http")
        .env("PLATFORM__TELEMETRY__OTLP__SAMPLING_RATIO", "0")
        .env("PLATFORM__ADMIN__EMAIL", "admin@example.com")
        .env("PLATFORM__ADMIN__PASSWORD", ADMIN_PASSWORD);
    cmd
}

/// Logs in as the administrator, subscribes `hook` to published posts,
/// writes a post titled `title` and publishes it under the caller's span of
/// `trace`.
fn publish_under(addr: &str, hook: &str, title: &str, trace: &str) {
    let bearer = format!("Bearer {}", login(addr));
    let auth = [("Authorization", bearer.as_str())];
    post_json(
        addr,
        "/api/v1/webhooks",
        &auth,
        &json!({"url": hook, "event_types": ["blog.post.published"]}),
    );
    let post = post_json(
        addr,
        "/api/v1/blog/posts",
        &auth,
        &json!({"title": title, "content": "Hello"}),
    );
    let publish = format!("/api/v1/blog/posts/{}/publish", post["id"].as_str().unwrap());
    let parent = format!("00-{trace}-{CALLER_SPAN}-01");
    post_json(
        addr,
        &publish,
        &[("Authorization", bearer.as_str()), ("traceparent", &parent)],
        &json!({}),
    );
}

/// The spans of `trace`, checked to form one tree: every parent but the
/// caller's is a span of the trace, so no span started a trace of its own
/// that merely reuses the id.
fn trace<'a>(all: &'a [Span], trace: &str) -> Vec<&'a Span> {
    let spans: Vec<&Span> = all.iter().filter(|s| hex(&s.trace_id) == trace).collect();
    for span in &spans {
        let parent = hex(&span.parent_span_id);
        assert!(
            parent == CALLER_SPAN || spans.iter().any(|s| hex(&s.span_id) == parent),
            "`{}` hangs under {parent}, which is not in trace {trace}: {spans:#?}",
            span.name
        );
    }
    spans
}

fn consumer<'a>(spans: &[&'a Span], key: &str, value: &str) -> &'a Span {
    spans
        .iter()
        .copied()
        .find(|s| s.kind == SPAN_KIND_CONSUMER && attribute(s, key).as_deref() == Some(value))
        .unwrap_or_else(|| panic!("no consumer span with {key}={value} in {spans:#?}"))
}

#[test]
fn one_trace_runs_from_a_request_through_the_outbox_the_bus_and_the_job_worker() {
    let (otlp, got) = otlp::collector("/v1/traces");
    let (hook, deliveries) = receiver();
    let mail = tempfile::tempdir().unwrap();
    let mut cmd = traced_platform(&otlp);
    cmd.env("PLATFORM__WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true")
        .env("PLATFORM__MAIL__DRIVER", "file")
        .env("PLATFORM__MAIL__FILE__DIR", mail.path());
    let mut running = Running::start(cmd);
    let addr = running.addr.clone();
    publish_under(&addr, &hook, "Traced", PUBLISH_TRACE);
    let reset_parent = format!("00-{RESET_TRACE}-{CALLER_SPAN}-01");
    post_json(
        &addr,
        "/api/v1/auth/password/forgot",
        &[("traceparent", &reset_parent)],
        &json!({"email": "admin@example.com"}),
    );

    wait_for("the webhook delivery", || !deliveries.lock().unwrap().is_empty());
    wait_for("the reset mail", || {
        std::fs::read_dir(mail.path()).unwrap().next().is_some()
    });
    stop(&mut running);

    // The receiver's `traceparent` names the publish's trace.
    let delivered = deliveries.lock().unwrap()[0]
        .get("traceparent")
        .map(|v| v.to_str().unwrap().to_owned())
        .expect("the webhook carried no traceparent");
    assert_eq!(delivered.split('-').nth(1), Some(PUBLISH_TRACE), "{delivered}");

    let all = spans(&got);
    let published = trace(&all, PUBLISH_TRACE);
    let server = published
        .iter()
        .find(|s| hex(&s.parent_span_id) == CALLER_SPAN)
        .unwrap_or_else(|| panic!("no server span under the caller in {published:#?}"));
    assert_eq!(server.kind, SPAN_KIND_SERVER);
    // Through the outbox and the relay to the in-process bus's subscriber...
    let subscriber = consumer(&published, "messaging.destination.name", "blog.posts");
    assert_eq!(attribute(subscriber, "messaging.system").as_deref(), Some("memory"));
    assert_eq!(
        attribute(subscriber, "messaging.operation.type").as_deref(),
        Some("process")
    );
    assert_eq!(subscriber.name, "process blog.posts");
    // ...and the delivery job it enqueued, to the worker that posted it.
    let delivery = consumer(&published, "job.task_type", "webhook:deliver");
    assert_eq!(
        delivery.name,
        format!("process {}", attribute(delivery, "messaging.destination.name").unwrap())
    );
    // The webhook's parent is a span of the delivery attempt.
    let webhook_parent = delivered.split('-').nth(2).unwrap();
    let parent = published
        .iter()
        .find(|s| hex(&s.span_id) == webhook_parent)
        .unwrap_or_else(|| panic!("the webhook's parent {webhook_parent} is not in the trace"));
    assert!(
        parent.span_id == delivery.span_id || parent.parent_span_id == delivery.span_id,
        "the webhook's parent is not the delivery attempt: {parent:#?}"
    );

    // A request that enqueues a job directly: the worker joins its trace.
    let reset = trace(&all, RESET_TRACE);
    consumer(&reset, "job.task_type", "notify:email");
    // Sampling ratio 0: nothing outside the two callers' traces was exported.
    assert!(
        all.iter()
            .all(|s| [PUBLISH_TRACE, RESET_TRACE].contains(&hex(&s.trace_id).as_str())),
        "unsampled traces were exported"
    );
}

/// The variable `name`, else `default` (the CI scripts' own).
fn var(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// `address` when something listens there; otherwise `None` after a loud
/// skip (a failure under `CI=true`).
fn reachable(test: &str, address: String, start: &str) -> Option<String> {
    let socket = std::net::ToSocketAddrs::to_socket_addrs(&address)
        .ok()
        .and_then(|mut a| a.next());
    if socket.is_some_and(|s| std::net::TcpStream::connect_timeout(&s, Duration::from_secs(1)).is_ok()) {
        Some(address)
    } else {
        skip_or_fail(test, &format!("nothing listens on {address} (start it: {start})"));
        None
    }
}

/// Runs the platform with the mail settings in `mail`, asks for a password
/// reset with a sampled `traceparent`, waits for the log line saying the
/// mail was `accepted`, and returns the reset's trace with the span named
/// `client`, checked to be a client span under the mail job's consumer span.
fn mail_client_span(mail: &[(&str, String)], accepted: &str, client: &str) -> Span {
    let (otlp, got) = otlp::collector("/v1/traces");
    let mut cmd = traced_platform(&otlp);
    for (key, value) in mail {
        cmd.env(key, value);
    }
    let mut running = Running::start(cmd);
    let reset_parent = format!("00-{RESET_TRACE}-{CALLER_SPAN}-01");
    post_json(
        &running.addr,
        "/api/v1/auth/password/forgot",
        &[("traceparent", &reset_parent)],
        &json!({"email": "admin@example.com"}),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !running.drain().iter().any(|l| l.contains(accepted)) {
        assert!(
            Instant::now() < deadline,
            "no `{accepted}` line: {:#?}",
            running.drain()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    stop(&mut running);

    let all = spans(&got);
    let reset = trace(&all, RESET_TRACE);
    let job = consumer(&reset, "job.task_type", "notify:email");
    let span = reset
        .iter()
        .copied()
        .find(|s| s.name == client)
        .unwrap_or_else(|| panic!("no `{client}` span in {reset:#?}"));
    assert_eq!(span.kind, SPAN_KIND_CLIENT, "{span:#?}");
    // Up its parents (the use case's spans may sit between) to the job.
    let mut parent = hex(&span.parent_span_id);
    while parent != hex(&job.span_id) {
        let next = reset
            .iter()
            .find(|s| hex(&s.span_id) == parent)
            .unwrap_or_else(|| panic!("`{client}` does not hang under the mail job: {reset:#?}"));
        parent = hex(&next.parent_span_id);
    }
    (*span).clone()
}

#[test]
fn an_ses_send_is_a_client_span_under_the_mail_job_in_the_request_trace() {
    let test = "an_ses_send_is_a_client_span_under_the_mail_job_in_the_request_trace";
    let Some(moto) = reachable(
        test,
        format!("127.0.0.1:{}", var("PLATFORM_TEST_MOTO_PORT", "15000")),
        "bash .ci/services/moto.sh",
    ) else {
        return;
    };
    // A sender domain of this run's own, verified in moto (which routes by
    // the credential scope and does not check signatures).
    let domain = format!("{}.example", unique("ses-span"));
    let scope = "AWS4-HMAC-SHA256 Credential=AKIDPLATFORMTEST/20260101/eu-west-1/ses/aws4_request, SignedHeaders=host, Signature=00";
    let identity = json!({ "EmailIdentity": domain }).to_string();
    let (status, reply) = http(
        &moto,
        "POST",
        "/v2/email/identities",
        &[("Authorization", scope)],
        Some(&identity),
    );
    assert_eq!(status, 200, "creating the SES identity: {reply}");
    let (port, region) = (moto.rsplit(':').next().unwrap().to_owned(), "eu-west-1");
    let span = mail_client_span(
        &[
            ("PLATFORM__MAIL__DRIVER", "ses".into()),
            ("PLATFORM__MAIL__FROM", format!("Platform <no-reply@{domain}>")),
            ("PLATFORM__MAIL__SES__ENDPOINT", format!("http://{moto}")),
            ("PLATFORM__MAIL__SES__REGION", region.into()),
            ("PLATFORM__MAIL__SES__ACCESS_KEY_ID", "AKIDPLATFORMTEST".into()),
            ("PLATFORM__MAIL__SES__SECRET_ACCESS_KEY", "platform-test-secret".into()),
        ],
        "mail accepted by SES",
        "ses send",
    );
    http(
        &moto,
        "DELETE",
        &format!("/v2/email/identities/{domain}"),
        &[("Authorization", scope)],
        None,
    );
    for (key, value) in [
        ("server.address", "127.0.0.1"),
        ("server.port", port.as_str()),
        ("rpc.system", "aws-api"),
        ("rpc.service", "SESv2"),
        ("rpc.method", "SendEmail"),
        ("cloud.region", region),
        ("http.request.method", "POST"),
        ("http.response.status_code", "200"),
    ] {
        assert_eq!(attribute(&span, key).as_deref(), Some(value), "{key}: {span:#?}");
    }
    // No recipient: an address names a person.
    assert!(
        span.attributes
            .iter()
            .all(|kv| !format!("{:?}", kv.value).contains("admin@example.com")),
        "{span:#?}"
    );
}

#[test]
fn an_smtp_send_is_a_client_span_under_the_mail_job_in_the_request_trace() {
    let test = "an_smtp_send_is_a_client_span_under_the_mail_job_in_the_request_trace";
    let Some(smtp) = reachable(
        test,
        format!(
            "{}:{}",
            var("PLATFORM_TEST_SMTP_HOST", "127.0.0.1"),
            var("PLATFORM_TEST_SMTP_PORT", "12525")
        ),
        "bash .ci/services/smtp.sh",
    ) else {
        return;
    };
    let (host, port) = smtp.rsplit_once(':').unwrap();
    let span = mail_client_span(
        &[
            ("PLATFORM__MAIL__DRIVER", "smtp".into()),
            ("PLATFORM__MAIL__SMTP__HOST", host.into()),
            ("PLATFORM__MAIL__SMTP__PORT", port.into()),
            ("PLATFORM__MAIL__SMTP__TLS", "none".into()),
        ],
        "mail accepted by the SMTP server",
        "smtp send",
    );
    for (key, value) in [
        ("server.address", host),
        ("server.port", port),
        ("network.protocol.name", "smtp"),
    ] {
        assert_eq!(attribute(&span, key).as_deref(), Some(value), "{key}: {span:#?}");
    }
}

#[test]
fn on_kafka_one_trace_runs_from_a_request_through_the_outbox_and_the_broker_to_the_subscriber() {
    let test = "on_kafka_one_trace_runs_from_a_request_through_the_outbox_and_the_broker_to_the_subscriber";
    let brokers = var("PLATFORM_TEST_KAFKA_BROKERS", "127.0.0.1:19092");
    let first = brokers.split(',').next().unwrap_or_default().trim().to_owned();
    if reachable(test, first, "bash .ci/services/kafka.sh").is_none() {
        return;
    }
    // Topics and consumer groups of this run's own.
    let run = unique("trace");
    let (otlp, got) = otlp::collector("/v1/traces");
    let (hook, deliveries) = receiver();
    let mut cmd = traced_platform(&otlp);
    cmd.env("PLATFORM__EVENT_BUS__DRIVER", "kafka")
        .env("PLATFORM__KAFKA__BROKERS", &brokers)
        .env("PLATFORM__KAFKA__TOPIC_PREFIX", format!("{run}."))
        .env("PLATFORM__KAFKA__GROUP_ID_PREFIX", format!("{run}."))
        .env("PLATFORM__KAFKA__PARTITIONS", "1")
        // The broker's first group join otherwise waits ~20 s.
        .env("PLATFORM__KAFKA__SESSION_TIMEOUT", "6s")
        .env("PLATFORM__WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true");
    let mut running = Running::start(cmd);
    let addr = running.addr.clone();
    publish_under(&addr, &hook, "Traced over Kafka", KAFKA_TRACE);
    let deadline = Instant::now() + Duration::from_secs(90);
    while deliveries.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "no webhook delivery: {:#?}", running.drain());
        std::thread::sleep(Duration::from_millis(100));
    }
    stop(&mut running);

    let delivered = deliveries.lock().unwrap()[0]
        .get("traceparent")
        .map(|v| v.to_str().unwrap().to_owned())
        .expect("the webhook carried no traceparent");
    assert_eq!(delivered.split('-').nth(1), Some(KAFKA_TRACE), "{delivered}");

    let all = spans(&got);
    let published = trace(&all, KAFKA_TRACE);
    let server = published
        .iter()
        .find(|s| hex(&s.parent_span_id) == CALLER_SPAN)
        .unwrap_or_else(|| panic!("no server span under the caller in {published:#?}"));
    assert_eq!(server.kind, SPAN_KIND_SERVER);
    // The subscriber's consumer span continues, through the message's
    // `traceparent` header, the relay's producer span for that message.
    let subscriber = published
        .iter()
        .find(|s| s.kind == SPAN_KIND_CONSUMER && attribute(s, "messaging.system").as_deref() == Some("kafka"))
        .unwrap_or_else(|| panic!("no Kafka consumer span in {published:#?}"));
    let topic = attribute(subscriber, "messaging.destination.name").unwrap();
    assert!(topic.starts_with(&run) && topic.ends_with("blog.posts"), "{topic}");
    assert_eq!(subscriber.name, format!("process {topic}"));
    assert_eq!(
        attribute(subscriber, "messaging.operation.type").as_deref(),
        Some("process")
    );
    let producer = published
        .iter()
        .find(|s| s.span_id == subscriber.parent_span_id)
        .unwrap_or_else(|| panic!("the consumer's parent is not in the trace: {published:#?}"));
    assert_eq!(producer.kind, SPAN_KIND_PRODUCER, "{producer:#?}");
    assert_eq!(attribute(producer, "messaging.system").as_deref(), Some("kafka"));
    assert_eq!(attribute(producer, "messaging.destination.name"), Some(topic.clone()));
    assert_eq!(producer.name, format!("publish {topic}"));
    // The delivery job the subscriber enqueued ran in the trace too.
    consumer(&published, "job.task_type", "webhook:deliver");
    assert!(
        all.iter().all(|s| hex(&s.trace_id) == KAFKA_TRACE),
        "unsampled traces were exported"
    );
}
