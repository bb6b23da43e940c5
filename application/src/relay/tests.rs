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
    let bus = Arc::new(SlowBus::new(Duration::ZERO, None));
    let relay = OutboxRelay::new(Arc::new(outbox), bus.clone(), quiet_errors(), RelaySettings::default());
    assert_eq!(relay.relay_once().await.unwrap(), 3);
    let published = bus.published.lock().unwrap();
    assert_eq!(of_aggregate(&published, "a"), ["t1", "t2"]);
    assert_eq!(of_aggregate(&published, "b"), ["t3"]);
}

/// A bus that publishes one event at a time (the default `publish_batch`),
/// each taking `delay`, recording (aggregate, type) in publish order.
struct SlowBus {
    delay: Duration,
    published: StdMutex<Vec<(String, String)>>,
    fail: Option<String>,
}

impl SlowBus {
    fn new(delay: Duration, fail: Option<&str>) -> Self {
        Self {
            delay,
            published: StdMutex::new(Vec::new()),
            fail: fail.map(str::to_owned),
        }
    }
}

#[async_trait]
impl EventBus for SlowBus {
    async fn publish(&self, _topic: &str, event: &Event) -> Result<(), BusError> {
        tokio::time::sleep(self.delay).await;
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

/// A bus that answers each batch with scripted outcomes (`true`: acknowledged)
/// and records the batches it was given, as event types.
struct ScriptedBus {
    acks: Vec<bool>,
    batches: StdMutex<Vec<Vec<String>>>,
}

#[async_trait]
impl EventBus for ScriptedBus {
    async fn publish(&self, _: &str, _: &Event) -> Result<(), BusError> {
        unreachable!("the relay publishes batches")
    }
    async fn publish_batch<'a>(&self, batch: &'a [(&'a str, &'a Event)]) -> Vec<Result<(), BusError>> {
        self.batches
            .lock()
            .unwrap()
            .push(batch.iter().map(|(_, e)| e.event_type.clone()).collect());
        (0..batch.len())
            .map(|i| {
                if self.acks.get(i).copied().unwrap_or(true) {
                    Ok(())
                } else {
                    Err(BusError::Backend("delivery failed".into()))
                }
            })
            .collect()
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

#[tokio::test]
async fn the_whole_batch_goes_to_the_bus_in_one_call_in_commit_order() {
    let batch: Vec<OutboxMessage> = (0..40).map(|n| msg(&format!("agg{}", n % 10), n)).collect();
    let ids: Vec<OutboxId> = batch.iter().map(|m| m.id).collect();
    let mut outbox = MockOutbox::new();
    outbox.expect_claim().times(1).returning(move |_, _| Ok(batch.clone()));
    outbox
        .expect_mark_sent()
        .withf(move |sent| sent == ids.as_slice())
        .times(1)
        .returning(|_| Ok(()));
    let bus = Arc::new(ScriptedBus {
        acks: Vec::new(),
        batches: StdMutex::default(),
    });
    let relay = OutboxRelay::new(Arc::new(outbox), bus.clone(), quiet_errors(), RelaySettings::default());
    assert_eq!(relay.relay_once().await.unwrap(), 40);
    let batches = bus.batches.lock().unwrap();
    let expected: Vec<String> = (0..40).map(|n| format!("t{n}")).collect();
    assert_eq!(*batches, [expected]);
}

#[tokio::test]
async fn a_failed_ack_mid_batch_leaves_it_and_the_rest_of_its_aggregate_unsent() {
    // a1 a2 a3 b4 a5 b6 c7; the bus acknowledges all but a2 and b6: a3 and
    // a5 were acknowledged after a2 failed, so they stay unsent (published
    // again after a2), and so does nothing of c.
    let batch = vec![
        msg("a", 1),
        msg("a", 2),
        msg("a", 3),
        msg("b", 4),
        msg("a", 5),
        msg("b", 6),
        msg("c", 7),
    ];
    let id = |i: usize| batch[i].id;
    let (a1, a2, a3, b4, a5, b6, c7) = (id(0), id(1), id(2), id(3), id(4), id(5), id(6));
    let mut outbox = MockOutbox::new();
    outbox.expect_claim().times(1).returning(move |_, _| Ok(batch.clone()));
    outbox
        .expect_mark_sent()
        .withf(move |sent| sent == [a1, b4, c7])
        .times(1)
        .returning(|_| Ok(()));
    let failed = Arc::new(StdMutex::new(Vec::new()));
    let seen = failed.clone();
    outbox
        .expect_mark_failed()
        .times(4)
        .returning(move |id, error, retry_at| {
            seen.lock().unwrap().push((id, error.to_owned(), retry_at));
            Ok(())
        });
    let bus = Arc::new(ScriptedBus {
        acks: vec![true, false, true, true, true, false, true],
        batches: StdMutex::default(),
    });
    let before = chrono::Utc::now();
    let relay = OutboxRelay::new(Arc::new(outbox), bus, quiet_errors(), RelaySettings::default());
    assert_eq!(relay.relay_once().await.unwrap(), 3);
    let failed = failed.lock().unwrap();
    let of = |wanted: OutboxId| failed.iter().find(|(id, _, _)| *id == wanted).unwrap().clone();
    // The failures wait for their backoff (500 ms by default)...
    for head in [a2, b6] {
        let (_, error, retry_at) = of(head);
        assert!(error.contains("delivery failed"), "{error}");
        assert!(retry_at >= before + chrono::Duration::milliseconds(500));
    }
    // ...the held-back rows are released at once, behind them.
    for held in [a3, a5] {
        let (_, error, retry_at) = of(held);
        assert!(error.contains("earlier event of the same aggregate"), "{error}");
        assert!(retry_at < before + chrono::Duration::milliseconds(500));
    }
}

/// An outbox whose claims take `delay` (a slow or busy database).
struct SlowClaims {
    inner: MockOutbox,
    delay: Duration,
}

#[async_trait]
impl Outbox for SlowClaims {
    async fn enqueue(
        &self,
        tx: &mut platform_ports::persistence::Transaction,
        topic: &str,
        event: &Event,
    ) -> Result<(), platform_ports::StoreError> {
        self.inner.enqueue(tx, topic, event).await
    }
    async fn claim(&self, limit: usize, lease: Duration) -> Result<Vec<OutboxMessage>, platform_ports::StoreError> {
        tokio::time::sleep(self.delay).await;
        self.inner.claim(limit, lease).await
    }
    async fn mark_sent(&self, ids: &[OutboxId]) -> Result<(), platform_ports::StoreError> {
        self.inner.mark_sent(ids).await
    }
    async fn mark_failed(
        &self,
        id: OutboxId,
        error: &str,
        retry_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), platform_ports::StoreError> {
        self.inner.mark_failed(id, error, retry_at).await
    }
    async fn pending(&self) -> Result<u64, platform_ports::StoreError> {
        self.inner.pending().await
    }
    async fn purge_sent(&self, before: chrono::DateTime<chrono::Utc>) -> Result<u64, platform_ports::StoreError> {
        self.inner.purge_sent(before).await
    }
}

#[tokio::test(start_paused = true)]
async fn a_batch_that_could_outlive_its_lease_is_not_published() {
    // The claim took 6 s of a 15 s lease; publishing may take 10 s, so the
    // rows stay leased (neither sent nor failed) and come back when it ends.
    let mut inner = MockOutbox::new();
    inner.expect_claim().times(1).returning(|_, _| Ok(vec![msg("a", 1)]));
    inner.expect_mark_sent().never();
    inner.expect_mark_failed().never();
    let bus = Arc::new(SlowBus::new(Duration::ZERO, None));
    let relay = OutboxRelay::new(
        Arc::new(SlowClaims {
            inner,
            delay: Duration::from_secs(6),
        }),
        bus.clone(),
        quiet_errors(),
        RelaySettings {
            lease: Duration::from_secs(15),
            publish_timeout: Duration::from_secs(10),
            ..RelaySettings::default()
        },
    );
    assert_eq!(relay.relay_once().await.unwrap(), 0);
    assert!(bus.published.lock().unwrap().is_empty());
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
    // The default `publish_batch`: t2 is not even tried after t1 failed.
    let bus = Arc::new(SlowBus::new(Duration::ZERO, Some("t1")));
    let relay = OutboxRelay::new(Arc::new(outbox), bus.clone(), quiet_errors(), RelaySettings::default());
    assert_eq!(relay.relay_once().await.unwrap(), 1);
    assert_eq!(*bus.published.lock().unwrap(), [("b".to_owned(), "t3".to_owned())]);
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
    let bus = Arc::new(SlowBus::new(Duration::ZERO, None));
    let relay = OutboxRelay::new(Arc::new(outbox), bus.clone(), quiet_errors(), RelaySettings::default());
    relay.start().await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    relay.stop().await.unwrap();
    assert_eq!(bus.published.lock().unwrap().len(), 1);
}
