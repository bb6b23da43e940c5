//! Topic rules, closing, the lifecycle and the shaku wiring.

use std::sync::Arc;
use std::time::Duration;

use platform_ports::events::{BusError, EventBus};
use platform_ports::lifecycle::BackgroundService;
use tokio::sync::Semaphore;
use tokio::time::timeout;

use super::{Probe, WAIT, event, fast_settings, number};
use crate::bus::InProcessEventBus;

#[tokio::test]
async fn topics_follow_kafka_naming_rules() {
    let bus = InProcessEventBus::new(fast_settings());
    let long = "t".repeat(250);
    for bad in ["", "has space", "slash/topic", "ümlaut", long.as_str()] {
        assert!(matches!(bus.publish(bad, &event(1)).await, Err(BusError::InvalidTopic(t)) if t == bad));
        assert!(matches!(
            bus.subscribe(bad, "s", Probe::new(0).0).await,
            Err(BusError::InvalidTopic(_))
        ));
    }
    for good in ["platform.user.created", "a-b_c.D9", &"t".repeat(249)] {
        bus.publish(good, &event(1)).await.unwrap();
    }
}

#[tokio::test]
async fn close_drains_queued_events_then_refuses_more() {
    let bus = InProcessEventBus::new(fast_settings());
    let (probe, mut rx) = Probe::with(1, true, None);
    bus.subscribe("users", "mailer", probe).await.unwrap();
    for n in 0..10 {
        bus.publish("users", &event(n)).await.unwrap();
    }

    bus.close(WAIT).await.unwrap();
    let mut got = Vec::new();
    while let Ok(event) = rx.try_recv() {
        got.push(number(&event));
    }
    assert_eq!(
        got,
        (0..10).collect::<Vec<_>>(),
        "close returned before the queue drained"
    );

    assert!(bus.is_closed());
    assert!(matches!(bus.publish("users", &event(11)).await, Err(BusError::Closed)));
    assert!(matches!(
        bus.subscribe("users", "late", Probe::new(0).0).await,
        Err(BusError::Closed)
    ));
    bus.close(WAIT).await.unwrap();
}

#[tokio::test]
async fn close_gives_up_on_a_stuck_worker_after_the_timeout() {
    let bus = InProcessEventBus::new(fast_settings());
    let gate = Arc::new(Semaphore::new(0));
    let (probe, _rx) = Probe::with(0, false, Some(gate));
    bus.subscribe("users", "stuck", probe).await.unwrap();
    bus.publish("users", &event(1)).await.unwrap();

    let closed = timeout(WAIT, bus.close(Duration::from_millis(50)))
        .await
        .expect("close ignored its timeout");
    assert!(matches!(closed, Err(BusError::Backend(_))));
}

#[tokio::test]
async fn stopping_the_service_closes_the_bus_and_its_clones() {
    let bus = InProcessEventBus::new(fast_settings());
    let service = bus.clone();
    BackgroundService::start(&service).await.unwrap();
    BackgroundService::stop(&service).await.unwrap();
    assert!(matches!(bus.publish("users", &event(1)).await, Err(BusError::Closed)));
}

#[test]
fn components_build_in_a_shaku_module_without_a_runtime() {
    use crate::{MemoryCache, MemoryJobQueue, MemoryScheduler};
    use platform_ports::cache::Cache;
    use platform_ports::jobs::{JobQueue, Scheduler};
    use shaku::HasComponent;

    shaku::module! {
        Kernel {
            components = [MemoryCache, InProcessEventBus, MemoryJobQueue, MemoryScheduler],
            providers = []
        }
    }
    let module = Kernel::builder()
        .with_component_parameters::<InProcessEventBus>(crate::InProcessEventBusParameters {
            settings: fast_settings(),
        })
        .build();
    let _: Arc<dyn Cache> = module.resolve();
    let _: Arc<dyn EventBus> = module.resolve();
    let _: Arc<dyn JobQueue> = module.resolve();
    let _: Arc<dyn Scheduler> = module.resolve();
}
