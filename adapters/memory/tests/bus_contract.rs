//! Runs the event-bus contract on the in-process bus, and the
//! processed-events contract on the memory store.

use std::sync::Arc;
use std::time::Duration;

use platform_adapter_memory::{
    InProcessBusSettings, InProcessEventBus, MemoryAuditStore, MemoryProcessedEvents, MemoryStore, MemoryUnitOfWork,
};
use platform_contract::events::{self, EffectStore, processed};

const MAX_RETRIES: u32 = 3;

fn bus() -> Arc<InProcessEventBus> {
    Arc::new(InProcessEventBus::new(InProcessBusSettings {
        max_retries: MAX_RETRIES,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(4),
        ..InProcessBusSettings::default()
    }))
}

fn store() -> EffectStore {
    let store = Arc::new(MemoryStore::new());
    EffectStore {
        uow: Arc::new(MemoryUnitOfWork::new(store.clone())),
        processed: Arc::new(MemoryProcessedEvents::new(store.clone())),
        audit: Arc::new(MemoryAuditStore::new(store)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bus_keeps_order_per_key() {
    events::bus_keeps_order_per_key(bus(), "contract.order").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bus_redelivers_after_a_handler_error() {
    events::bus_redelivers_after_a_handler_error(bus(), "contract.redelivery").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bus_dead_letters_after_the_last_retry() {
    events::bus_dead_letters_after_the_last_retry(bus(), "contract.dlq", MAX_RETRIES).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bus_loses_nothing_across_a_consumer_restart() {
    events::bus_loses_nothing_across_a_consumer_restart(bus(), "contract.restart", store()).await;
}

/// One test per processed-events check, each on a fresh store.
macro_rules! processed_contract {
    ($($check:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let store = store();
                processed::$check(store.uow, store.processed).await;
            }
        )+
    };
}

processed_contract!(
    processed_record_is_new_once_per_subscriber,
    processed_record_rolls_back_with_its_unit_of_work,
    processed_record_settles_concurrent_duplicates,
    processed_purge_forgets_old_records,
);
