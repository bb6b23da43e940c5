use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use platform_ports::BoxError;
use platform_ports::events::Event;
use platform_ports::events::{BusError, EventBus, EventHandler};
use platform_ports::model::TenantId;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::timeout;

use super::{InProcessBusSettings, InProcessEventBus};

mod lifecycle;

const WAIT: Duration = Duration::from_secs(5);

fn fast_settings() -> InProcessBusSettings {
    InProcessBusSettings {
        queue_capacity: 16,
        max_retries: 3,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(4),
        drain_timeout: Duration::from_secs(2),
        dead_letter_capacity: 10,
    }
}

fn event(n: u64) -> Event {
    Event::new(
        "test.happened",
        "tests",
        TenantId::DEFAULT,
        serde_json::json!({ "n": n }),
    )
}

fn number(event: &Event) -> u64 {
    event.data["n"].as_u64().unwrap()
}

/// Reports each event it handles; fails the first `failures` attempts;
/// optionally sleeps a pseudo-random 0-2 ms first, or waits for a permit.
struct Probe {
    seen: mpsc::UnboundedSender<Event>,
    attempts: AtomicU32,
    failures: u32,
    jitter: bool,
    gate: Option<Arc<Semaphore>>,
}

impl Probe {
    fn new(failures: u32) -> (Arc<Self>, mpsc::UnboundedReceiver<Event>) {
        let (seen, rx) = mpsc::unbounded_channel();
        (
            Arc::new(Self {
                seen,
                attempts: AtomicU32::new(0),
                failures,
                jitter: false,
                gate: None,
            }),
            rx,
        )
    }

    fn with(failures: u32, jitter: bool, gate: Option<Arc<Semaphore>>) -> (Arc<Self>, mpsc::UnboundedReceiver<Event>) {
        let (seen, rx) = mpsc::unbounded_channel();
        (
            Arc::new(Self {
                seen,
                attempts: AtomicU32::new(0),
                failures,
                jitter,
                gate,
            }),
            rx,
        )
    }
}

#[async_trait]
impl EventHandler for Probe {
    async fn handle(&self, event: &Event) -> Result<(), BoxError> {
        if let Some(gate) = &self.gate {
            gate.acquire().await?.forget();
        }
        if self.jitter {
            // The v7 id's last byte is random: a different pause for each event.
            let pause = u64::from(event.id.as_uuid().as_bytes()[15] % 3);
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
        let attempt = self.attempts.fetch_add(1, Ordering::SeqCst) + 1;
        if attempt <= self.failures {
            return Err(format!("attempt {attempt} failed").into());
        }
        self.seen.send(event.clone())?;
        Ok(())
    }
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Event>) -> Event {
    timeout(WAIT, rx.recv())
        .await
        .expect("timed out waiting for an event")
        .unwrap()
}

async fn nothing_more(rx: &mut mpsc::UnboundedReceiver<Event>) {
    // A closed channel also means no delivery: the worker dropped the handler.
    if let Ok(Some(event)) = timeout(Duration::from_millis(100), rx.recv()).await {
        panic!("unexpected delivery of {event:?}");
    }
}

#[tokio::test]
async fn every_subscriber_receives_each_event() {
    let bus = InProcessEventBus::new(fast_settings());
    let (a, mut a_rx) = Probe::new(0);
    let (b, mut b_rx) = Probe::new(0);
    bus.subscribe("users", "mailer", a).await.unwrap();
    bus.subscribe("users", "search", b).await.unwrap();
    bus.subscribe("posts", "other", Probe::new(0).0).await.unwrap();

    let sent = event(1);
    bus.publish("users", &sent).await.unwrap();

    assert_eq!(next(&mut a_rx).await, sent);
    assert_eq!(next(&mut b_rx).await, sent);
    nothing_more(&mut a_rx).await;
}

#[tokio::test]
async fn publishing_to_a_topic_nobody_follows_is_fine() {
    let bus = InProcessEventBus::new(fast_settings());
    bus.publish("quiet", &event(1)).await.unwrap();
}

#[tokio::test]
async fn unsubscribe_stops_delivery() {
    let bus = InProcessEventBus::new(fast_settings());
    let (probe, mut rx) = Probe::new(0);
    let id = bus.subscribe("users", "mailer", probe).await.unwrap();
    bus.publish("users", &event(1)).await.unwrap();
    assert_eq!(number(&next(&mut rx).await), 1);

    bus.unsubscribe(id).await.unwrap();
    bus.publish("users", &event(2)).await.unwrap();
    nothing_more(&mut rx).await;
    assert!(matches!(bus.unsubscribe(id).await, Err(BusError::UnknownSubscription)));
}

#[tokio::test]
async fn publish_returns_before_a_slow_handler_finishes() {
    let bus = InProcessEventBus::new(fast_settings());
    let gate = Arc::new(Semaphore::new(0));
    let (probe, mut rx) = Probe::with(0, false, Some(gate.clone()));
    bus.subscribe("users", "slow", probe).await.unwrap();

    // The handler cannot finish until the gate opens, yet publish returns.
    timeout(WAIT, bus.publish("users", &event(1)))
        .await
        .expect("publish waited for the handler")
        .unwrap();
    nothing_more(&mut rx).await;

    gate.add_permits(1);
    assert_eq!(number(&next(&mut rx).await), 1);
}

#[tokio::test]
async fn publish_waits_for_room_instead_of_dropping() {
    let bus = InProcessEventBus::new(InProcessBusSettings {
        queue_capacity: 1,
        ..fast_settings()
    });
    let gate = Arc::new(Semaphore::new(0));
    let (probe, mut rx) = Probe::with(0, false, Some(gate.clone()));
    bus.subscribe("users", "slow", probe).await.unwrap();

    // One event in the handler, one in the queue: the third must wait.
    bus.publish("users", &event(1)).await.unwrap();
    bus.publish("users", &event(2)).await.unwrap();
    let blocked = timeout(Duration::from_millis(100), bus.publish("users", &event(3))).await;
    assert!(blocked.is_err(), "publish should wait while the queue is full");

    gate.add_permits(3);
    bus.publish("users", &event(3)).await.unwrap();
    let got: Vec<u64> = [next(&mut rx).await, next(&mut rx).await, next(&mut rx).await]
        .iter()
        .map(number)
        .collect();
    assert_eq!(got, [1, 2, 3]);
}

#[tokio::test]
async fn a_failing_handler_is_retried_until_it_succeeds() {
    let bus = InProcessEventBus::new(fast_settings());
    let (probe, mut rx) = Probe::new(2);
    bus.subscribe("users", "flaky", probe.clone()).await.unwrap();
    bus.publish("users", &event(7)).await.unwrap();

    assert_eq!(number(&next(&mut rx).await), 7);
    assert_eq!(probe.attempts.load(Ordering::SeqCst), 3);
    assert!(bus.dead_letters(10).await.unwrap().is_empty());
}

async fn wait_for_dead_letters(bus: &InProcessEventBus, count: usize) -> Vec<platform_ports::events::DeadLetter> {
    timeout(WAIT, async {
        loop {
            let letters = bus.dead_letters(usize::MAX).await.unwrap();
            if letters.len() >= count {
                return letters;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .expect("timed out waiting for dead letters")
}

#[tokio::test]
async fn exhausted_retries_dead_letter_the_event() {
    let bus = InProcessEventBus::new(fast_settings());
    let (probe, mut rx) = Probe::new(u32::MAX);
    bus.subscribe("users", "broken", probe.clone()).await.unwrap();
    let sent = event(1);
    bus.publish("users", &sent).await.unwrap();

    let letters = wait_for_dead_letters(&bus, 1).await;
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    assert_eq!((letter.topic.as_str(), letter.subscriber.as_str()), ("users", "broken"));
    assert_eq!(letter.event, sent);
    assert_eq!(letter.attempts, 4, "first attempt plus max_retries");
    assert_eq!(letter.last_error, "attempt 4 failed");
    assert_eq!(probe.attempts.load(Ordering::SeqCst), 4);
    nothing_more(&mut rx).await;
}

struct Panics;

#[async_trait]
impl EventHandler for Panics {
    async fn handle(&self, event: &Event) -> Result<(), BoxError> {
        assert!(event.data.is_null(), "handler bug");
        Ok(())
    }
}

#[tokio::test]
async fn a_panicking_handler_is_dead_lettered_and_the_worker_survives() {
    let bus = InProcessEventBus::new(InProcessBusSettings {
        max_retries: 0,
        ..fast_settings()
    });
    bus.subscribe("users", "panics", Arc::new(Panics)).await.unwrap();
    bus.publish("users", &event(1)).await.unwrap();
    bus.publish("users", &event(2)).await.unwrap();

    let letters = wait_for_dead_letters(&bus, 2).await;
    assert!(
        letters[0].last_error.contains("handler panicked"),
        "{}",
        letters[0].last_error
    );
    assert_eq!(letters.iter().map(|l| number(&l.event)).collect::<Vec<_>>(), [1, 2]);
}

#[tokio::test]
async fn dead_letters_are_a_bounded_ring_most_recent_last() {
    let bus = InProcessEventBus::new(InProcessBusSettings {
        max_retries: 0,
        dead_letter_capacity: 2,
        ..fast_settings()
    });
    let (probe, _rx) = Probe::new(u32::MAX);
    bus.subscribe("users", "broken", probe).await.unwrap();
    for n in 1..=3 {
        bus.publish("users", &event(n)).await.unwrap();
    }
    // Letters arrive in order, so once the third is in, the first has been dropped.
    let letters = timeout(WAIT, async {
        loop {
            let letters = bus.dead_letters(10).await.unwrap();
            if letters.last().map(|l| number(&l.event)) == Some(3) {
                return letters;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .unwrap();
    assert_eq!(letters.iter().map(|l| number(&l.event)).collect::<Vec<_>>(), [2, 3]);
    let latest = bus.dead_letters(1).await.unwrap();
    assert_eq!(number(&latest[0].event), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_subscriber_sees_publish_order() {
    let bus = InProcessEventBus::new(InProcessBusSettings {
        queue_capacity: 8,
        ..fast_settings()
    });
    let (a, mut a_rx) = Probe::with(0, true, None);
    let (b, mut b_rx) = Probe::with(0, true, None);
    bus.subscribe("posts", "feed", a).await.unwrap();
    bus.subscribe("posts", "search", b).await.unwrap();

    for n in 0..100 {
        bus.publish("posts", &event(n)).await.unwrap();
    }
    for rx in [&mut a_rx, &mut b_rx] {
        let mut got = Vec::with_capacity(100);
        for _ in 0..100 {
            got.push(number(&next(rx).await));
        }
        assert_eq!(got, (0..100).collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn a_subscriber_group_handles_each_event_once_by_aggregate() {
    let bus = InProcessEventBus::new(fast_settings());
    let (seen, mut rx) = mpsc::unbounded_channel::<(u8, Event)>();
    struct Member(u8, mpsc::UnboundedSender<(u8, Event)>);
    #[async_trait]
    impl EventHandler for Member {
        async fn handle(&self, event: &Event) -> Result<(), BoxError> {
            Ok(self.1.send((self.0, event.clone()))?)
        }
    }
    bus.subscribe("posts", "indexer", Arc::new(Member(1, seen.clone())))
        .await
        .unwrap();
    bus.subscribe("posts", "indexer", Arc::new(Member(2, seen)))
        .await
        .unwrap();

    for n in 0..40 {
        bus.publish("posts", &event(n).with_aggregate(format!("post-{}", n % 4)))
            .await
            .unwrap();
    }
    let mut handled = Vec::new();
    for _ in 0..40 {
        handled.push(timeout(WAIT, rx.recv()).await.unwrap().unwrap());
    }
    assert!(
        timeout(Duration::from_millis(100), rx.recv()).await.is_err(),
        "an event was handled twice"
    );
    for aggregate in 0..4 {
        let of_aggregate: Vec<_> = handled.iter().filter(|(_, e)| number(e) % 4 == aggregate).collect();
        assert!(
            of_aggregate.iter().all(|(m, _)| *m == of_aggregate[0].0),
            "aggregate split across members"
        );
        let order: Vec<u64> = of_aggregate.iter().map(|(_, e)| number(e)).collect();
        assert!(order.is_sorted(), "aggregate out of order: {order:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaving_member_hands_its_unhandled_events_to_the_group() {
    let bus = InProcessEventBus::new(fast_settings());
    let gate = Arc::new(Semaphore::new(0));
    let (one, mut one_rx) = Probe::with(0, false, Some(gate.clone()));
    let (two, mut two_rx) = Probe::new(0);
    let leaving = bus.subscribe("posts", "indexer", one).await.unwrap();
    bus.subscribe("posts", "indexer", two).await.unwrap();
    for n in 0..12 {
        bus.publish("posts", &event(n).with_aggregate(format!("post-{n}")))
            .await
            .unwrap();
    }
    // The first member holds its first event at the gate while it leaves.
    let left = tokio::spawn({
        let bus = bus.clone();
        async move { bus.unsubscribe(leaving).await }
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    gate.add_permits(1);
    left.await.unwrap().unwrap();

    let mut handled: Vec<u64> = Vec::new();
    while let Ok(Some(e)) = timeout(Duration::from_millis(200), one_rx.recv()).await {
        handled.push(number(&e));
    }
    assert!(
        handled.len() <= 1,
        "the leaving member handled more than the event in hand"
    );
    while handled.len() < 12 {
        handled.push(number(&next(&mut two_rx).await));
    }
    nothing_more(&mut two_rx).await;
    handled.sort_unstable();
    assert_eq!(handled, (0..12).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_group_without_members_keeps_its_events_for_the_next_one() {
    let bus = InProcessEventBus::new(InProcessBusSettings {
        queue_capacity: 4,
        ..fast_settings()
    });
    let (first, mut first_rx) = Probe::new(0);
    let id = bus.subscribe("users", "mailer", first).await.unwrap();
    bus.publish("users", &event(0)).await.unwrap();
    assert_eq!(number(&next(&mut first_rx).await), 0);
    bus.unsubscribe(id).await.unwrap();

    // Beyond the capacity the oldest waiting events are dropped.
    for n in 1..=6 {
        bus.publish("users", &event(n)).await.unwrap();
    }
    let (second, mut second_rx) = Probe::new(0);
    bus.subscribe("users", "mailer", second).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(number(&next(&mut second_rx).await));
    }
    assert_eq!(got, [3, 4, 5, 6]);
    nothing_more(&mut second_rx).await;
    nothing_more(&mut first_rx).await;
}
