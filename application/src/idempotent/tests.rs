use std::sync::Mutex;

use platform_ports::StoreError;
use platform_ports::events::MockProcessedEvents;
use platform_ports::model::TenantId;
use platform_ports::persistence::MockUnitOfWork;
use platform_ports::testing::{FakeTx, TxOutcome};

use super::*;

/// Records the events it applied; fails when told to.
#[derive(Default)]
struct Effect {
    applied: Mutex<Vec<Event>>,
    fail: bool,
}

#[async_trait]
impl TransactionalEventHandler for Effect {
    async fn handle(&self, _: &mut Transaction, event: &Event) -> Result<(), BoxError> {
        if self.fail {
            return Err("effect failed".into());
        }
        self.applied.lock().unwrap().push(event.clone());
        Ok(())
    }
}

fn event() -> Event {
    Event::new("blog.post.published", "blog", TenantId::DEFAULT, serde_json::json!({}))
}

/// A unit of work handing out `tx`, and a record answering `new`.
fn ports(tx: &FakeTx, new: Result<bool, &'static str>) -> (Arc<dyn UnitOfWork>, Arc<dyn ProcessedEvents>) {
    let mut uow = MockUnitOfWork::new();
    let handed = tx.clone();
    uow.expect_begin()
        .times(1)
        .returning(move || Ok(Transaction::new(handed.clone())));
    let mut processed = MockProcessedEvents::new();
    processed
        .expect_mark_processed()
        .withf(|_, subscriber, _| subscriber == "counter")
        .times(1)
        .returning(move |_, _, _| new.map_err(StoreError::backend));
    (Arc::new(uow), Arc::new(processed))
}

#[tokio::test]
async fn a_new_event_applies_its_effect_and_commits_with_the_record() {
    let tx = FakeTx::new();
    let (uow, processed) = ports(&tx, Ok(true));
    let effect = Arc::new(Effect::default());
    let handler = IdempotentHandler::new("counter", uow, processed, effect.clone());
    let event = event();

    handler.handle(&event).await.unwrap();
    assert_eq!(effect.applied.lock().unwrap().as_slice(), [event]);
    assert_eq!(tx.outcome(), TxOutcome::Committed);
    assert_eq!(handler.subscriber(), "counter");
}

#[tokio::test]
async fn an_event_already_recorded_is_skipped() {
    let tx = FakeTx::new();
    let (uow, processed) = ports(&tx, Ok(false));
    let effect = Arc::new(Effect::default());
    let handler = IdempotentHandler::new("counter", uow, processed, effect.clone());

    handler.handle(&event()).await.unwrap();
    assert!(effect.applied.lock().unwrap().is_empty());
    assert_eq!(tx.outcome(), TxOutcome::RolledBack);
}

#[tokio::test]
async fn a_failing_effect_rolls_back_its_record_and_fails_for_a_retry() {
    let tx = FakeTx::new();
    let (uow, processed) = ports(&tx, Ok(true));
    let effect = Arc::new(Effect {
        fail: true,
        ..Effect::default()
    });
    let handler = IdempotentHandler::new("counter", uow, processed, effect);

    let error = handler.handle(&event()).await.unwrap_err();
    assert_eq!(error.to_string(), "effect failed");
    assert_eq!(tx.outcome(), TxOutcome::RolledBack);
}

#[tokio::test]
async fn a_failing_record_fails_without_the_effect() {
    let tx = FakeTx::new();
    let (uow, processed) = ports(&tx, Err("database down"));
    let effect = Arc::new(Effect::default());
    let handler = IdempotentHandler::new("counter", uow, processed, effect.clone());

    assert!(handler.handle(&event()).await.is_err());
    assert!(effect.applied.lock().unwrap().is_empty());
    assert_ne!(tx.outcome(), TxOutcome::Committed);
}
