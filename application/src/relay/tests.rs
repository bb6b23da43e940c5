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

#[tokio::test]
async fn publishes_in_order_and_marks_sent() {
    let batch = vec![msg("a", 1), msg("a", 2), msg("b", 3)];
    let ids: Vec<OutboxId> = batch.iter().map(|m| m.id).collect();
    let mut outbox = MockOutbox::new();
    outbox.expect_claim().times(1).returning(move |_, _| Ok(batch.clone()));
    outbox
        .expect_mark_sent()
        .withf(move |sent| sent == ids.as_slice())
        .times(1)
        .returning(|_| Ok(()));
    let published = Arc::new(StdMutex::new(Vec::new()));
    let p = published.clone();
    let mut bus = MockEventBus::new();
    bus.expect_publish().returning(move |_, e| {
        p.lock().unwrap().push(e.event_type.clone());
        Ok(())
    });
    let relay = OutboxRelay::new(
        Arc::new(outbox),
        Arc::new(bus),
        quiet_errors(),
        RelaySettings::default(),
    );
    assert_eq!(relay.relay_once().await.unwrap(), 3);
    assert_eq!(*published.lock().unwrap(), ["t1", "t2", "t3"]);
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
