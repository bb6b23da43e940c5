use std::sync::Mutex as StdMutex;

use platform_ports::error_bus::MockErrorPublisher;
use platform_ports::events::MockOutbox;
use platform_ports::events::{BusError, MockEventBus};
use platform_ports::events::{Event, OutboxMessage};
use platform_ports::model::{OutboxId, TenantId};

use super::*;

fn msg(aggregate: &str, n: u32) -> OutboxMessage {
    OutboxMessage {
        id: OutboxId::new(),
        topic: "platform.identity".into(),
        event: Event::new(format!("t{n}"), "test", TenantId::DEFAULT, serde_json::json!({"n": n}))
            .with_aggregate(aggregate),
        attempts: 0,
    }
}

fn quiet_errors() -> Arc<dyn ErrorPublisher> {
    let mut e = MockErrorPublisher::new();
    e.expect_publish().returning(|_| ());
    Arc::new(e)
}

fn sorted(ids: &[OutboxId]) -> Vec<OutboxId> {
    let mut ids = ids.to_vec();
    ids.sort_by_key(|id| id.0);
    ids
}

/// The event types `published` holds for aggregate `a`, in publish order.
fn of_aggregate(published: &[(String, String)], a: &str) -> Vec<String> {
    published
        .iter()
        .filter(|(agg, _)| agg == a)
        .map(|(_, t)| t.clone())
        .collect()
}

#[tokio::test]
async fn publishes_in_order_and_marks_sent() {
    let batch = vec![msg("a", 1), msg("a", 2), msg("b", 3)];
    let ids = sorted(&batch.iter().map(|m| m.id).collect::<Vec<_>>());
    let mut outbox = MockOutbox::new();
    outbox.expect_claim().times(1).returning(move |_, _| Ok(batch.clone()));
    outbox
        .expect_mark_sent()
        .withf(move |sent| sorted(sent) == ids)
        .times(1)
        .returning(|_| Ok(()));
    let published = Arc::new(StdMutex::new(Vec::new()));
    let p = published.clone();
    let mut bus = MockEventBus::new();
    bus.expect_publish().returning(move |_, e| {
        p.lock()
            .unwrap()
            .push((e.aggregate_id.clone().unwrap_or_default(), e.event_type.clone()));
        Ok(())
    });
    let relay = OutboxRelay::new(
        Arc::new(outbox),
        Arc::new(bus),
        quiet_errors(),
        RelaySettings::default(),
    );
    assert_eq!(relay.relay_once().await.unwrap(), 3);
    let published = published.lock().unwrap();
    assert_eq!(of_aggregate(&published, "a"), ["t1", "t2"]);
    assert_eq!(of_aggregate(&published, "b"), ["t3"]);
}

/// A bus whose publishes take `delay`, recording per aggregate the order of
/// publishes and how many ran at once.
struct SlowBus {
    delay: Duration,
    in_flight: std::sync::atomic::AtomicUsize,
    peak: std::sync::atomic::AtomicUsize,
    published: StdMutex<Vec<(String, String)>>,
    fail: Option<String>,
}

impl SlowBus {
    fn new(delay: Duration, fail: Option<&str>) -> Self {
        Self {
            delay,
            in_flight: 0.into(),
            peak: 0.into(),
            published: StdMutex::new(Vec::new()),
            fail: fail.map(str::to_owned),
        }
    }
}

#[async_trait]
impl EventBus for SlowBus {
    async fn publish(&self, _topic: &str, event: &Event) -> Result<(), BusError> {
        use std::sync::atomic::Ordering::SeqCst;
        let now = self.in_flight.fetch_add(1, SeqCst) + 1;
        self.peak.fetch_max(now, SeqCst);
        tokio::time::sleep(self.delay).await;
        self.in_flight.fetch_sub(1, SeqCst);
        if self.fail.as_deref() == Some(event.event_type.as_str()) {
            return Err(BusError::Closed);
        }
        self.published
            .lock()
            .unwrap()
            .push((event.aggregate_id.clone().unwrap_or_default(), event.event_type.clone()));
        Ok(())
    }
    async fn subscribe(
        &self,
        _: &str,
        _: &str,
        _: Arc<dyn platform_ports::events::EventHandler>,
    ) -> Result<platform_ports::events::SubscriptionId, BusError> {
        Err(BusError::Closed)
    }
    async fn unsubscribe(&self, _: platform_ports::events::SubscriptionId) -> Result<(), BusError> {
        Err(BusError::UnknownSubscription)
    }
    async fn dead_letters(&self, _: usize) -> Result<Vec<platform_ports::events::DeadLetter>, BusError> {
        Ok(Vec::new())
    }
}

#[tokio::test(start_paused = true)]
async fn aggregates_go_out_concurrently_up_to_the_bound_each_in_order() {
    let batch: Vec<OutboxMessage> = (0..40).map(|n| msg(&format!("agg{}", n % 10), n)).collect();
    let mut outbox = MockOutbox::new();
    outbox.expect_claim().times(1).returning(move |_, _| Ok(batch.clone()));
    outbox
        .expect_mark_sent()
        .withf(|sent| sent.len() == 40)
        .times(1)
        .returning(|_| Ok(()));
    let bus = Arc::new(SlowBus::new(Duration::from_millis(10), None));
    let relay = OutboxRelay::new(
        Arc::new(outbox),
        bus.clone(),
        quiet_errors(),
        RelaySettings {
            concurrency: 4,
            ..RelaySettings::default()
        },
    );
    assert_eq!(relay.relay_once().await.unwrap(), 40);
    assert_eq!(bus.peak.load(std::sync::atomic::Ordering::SeqCst), 4);
    let published = bus.published.lock().unwrap();
    for a in 0..10 {
        let expected: Vec<String> = (0..4).map(|k| format!("t{}", a + 10 * k)).collect();
        assert_eq!(of_aggregate(&published, &format!("agg{a}")), expected);
    }
}

#[tokio::test(start_paused = true)]
async fn a_publish_that_would_outlive_the_lease_is_not_started() {
    // Each publish takes 4 s; the lease leaves 5 s to start publishes in, so
    // the aggregate's third event stays claimed (neither sent nor failed)
    // and comes back when the lease ends.
    let batch = vec![msg("a", 1), msg("a", 2), msg("a", 3)];
    let (a1, a2) = (batch[0].id, batch[1].id);
    let mut outbox = MockOutbox::new();
    outbox.expect_claim().times(1).returning(move |_, _| Ok(batch.clone()));
    outbox
        .expect_mark_sent()
        .withf(move |sent| sent == [a1, a2])
        .times(1)
        .returning(|_| Ok(()));
    outbox.expect_mark_failed().never();
    let bus = Arc::new(SlowBus::new(Duration::from_secs(4), None));
    let relay = OutboxRelay::new(
        Arc::new(outbox),
        bus,
        quiet_errors(),
        RelaySettings {
            lease: Duration::from_secs(15),
            publish_timeout: Duration::from_secs(10),
            ..RelaySettings::default()
        },
    );
    assert_eq!(relay.relay_once().await.unwrap(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_publish_past_its_timeout_fails() {
    let batch = vec![msg("a", 1)];
    let a1 = batch[0].id;
    let mut outbox = MockOutbox::new();
    outbox.expect_claim().times(1).returning(move |_, _| Ok(batch.clone()));
    outbox
        .expect_mark_failed()
        .withf(move |id, error, _| *id == a1 && error.contains("no acknowledgement"))
        .times(1)
        .returning(|_, _, _| Ok(()));
    let bus = Arc::new(SlowBus::new(Duration::from_secs(60), None));
    let relay = OutboxRelay::new(
        Arc::new(outbox),
        bus,
        quiet_errors(),
        RelaySettings {
            publish_timeout: Duration::from_secs(1),
            ..RelaySettings::default()
        },
    );
    assert_eq!(relay.relay_once().await.unwrap(), 0);
}

#[tokio::test]
async fn reports_the_backlog() {
    let mut outbox = MockOutbox::new();
    outbox.expect_claim().returning(|_, _| Ok(Vec::new()));
    outbox.expect_pending().returning(|| Ok(7));
    let gauge = Arc::new(LastValue::default());
    let recorded = gauge.clone();
    let gauge: Arc<dyn Gauge> = gauge;
    let mut metrics = platform_ports::metrics::MockMetrics::new();
    metrics.expect_gauge().times(1).returning(move |_, _, _| gauge.clone());
    let relay = OutboxRelay::new(
        Arc::new(outbox),
        Arc::new(MockEventBus::new()),
        quiet_errors(),
        RelaySettings::default(),
    )
    .with_metrics(&metrics);
    relay.start().await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    relay.stop().await.unwrap();
    assert_eq!(*recorded.0.lock().unwrap(), Some(7.0));
}

#[derive(Default)]
struct LastValue(StdMutex<Option<f64>>);

impl Gauge for LastValue {
    fn record(&self, value: f64, _labels: &[platform_ports::metrics::Label]) {
        *self.0.lock().unwrap() = Some(value);
    }
}

#[tokio::test]
async fn a_failure_holds_back_the_rest_of_its_aggregate() {
    let batch = vec![msg("a", 1), msg("a", 2), msg("b", 3)];
    let (a1, a2, b3) = (batch[0].id, batch[1].id, batch[2].id);
    let mut outbox = MockOutbox::new();
    outbox.expect_claim().returning(move |_, _| Ok(batch.clone()));
    outbox
        .expect_mark_failed()
        .withf(move |id, _, _| *id == a1 || *id == a2)
        .times(2)
        .returning(|_, _, _| Ok(()));
    outbox
        .expect_mark_sent()
        .withf(move |sent| sent == [b3])
        .times(1)
        .returning(|_| Ok(()));
    let mut bus = MockEventBus::new();
    bus.expect_publish().returning(|_, e| {
        if e.event_type == "t1" {
            Err(BusError::Closed)
        } else {
            Ok(())
        }
    });
    let relay = OutboxRelay::new(
        Arc::new(outbox),
        Arc::new(bus),
        quiet_errors(),
        RelaySettings::default(),
    );
    assert_eq!(relay.relay_once().await.unwrap(), 1);
}

#[test]
fn backoff_doubles_and_is_capped() {
    let s = RelaySettings {
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
        ..RelaySettings::default()
    };
    assert_eq!(backoff(&s, 0), Duration::from_millis(100));
    assert_eq!(backoff(&s, 2), Duration::from_millis(400));
    assert_eq!(backoff(&s, 30), Duration::from_secs(1));
}

#[tokio::test]
async fn runs_as_a_background_service_and_drains_on_stop() {
    let batch = vec![msg("a", 1)];
    let mut outbox = MockOutbox::new();
    let mut first = Some(batch);
    outbox
        .expect_claim()
        .returning(move |_, _| Ok(first.take().unwrap_or_default()));
    outbox.expect_mark_sent().times(1).returning(|_| Ok(()));
    let mut bus = MockEventBus::new();
    bus.expect_publish().times(1).returning(|_, _| Ok(()));
    let relay = OutboxRelay::new(
        Arc::new(outbox),
        Arc::new(bus),
        quiet_errors(),
        RelaySettings::default(),
    );
    relay.start().await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    relay.stop().await.unwrap();
}
