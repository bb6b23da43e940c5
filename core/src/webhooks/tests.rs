//! The fan-out and the delivery job against mocked ports.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use platform_ports::events::{Event, EventHandler};
use platform_ports::jobs::{JobHandler, MockJobQueue, NewJob};
use platform_ports::model::{JobId, SecretString, TenantId};
use platform_ports::notify::{MockWebhookSender, NotifyError, WebhookFailure, WebhookResponse};
use platform_ports::webhooks::{Delivery, DeliveryId, DeliveryStatus, MockWebhookRepository, Subscription, WebhookId};
use serde_json::json;

use super::*;
use crate::clock::{SystemClock, UuidV7Generator};
use crate::notify::Channels;

fn subscription(tenant: TenantId, types: &[&str]) -> Subscription {
    Subscription {
        id: WebhookId::new(),
        tenant_id: tenant,
        url: "https://hooks.example.com/in".into(),
        event_types: types.iter().map(|t| (*t).to_owned()).collect(),
        secret: SecretString::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        active: true,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

fn pending(s: &Subscription, attempts: u32) -> Delivery {
    Delivery {
        id: DeliveryId::new(),
        subscription_id: s.id,
        tenant_id: s.tenant_id,
        event_id: uuid::Uuid::now_v7(),
        event_type: "blog.post.published".into(),
        body: "{}".into(),
        trace_parent: Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into()),
        status: DeliveryStatus::Pending,
        attempts,
        response_status: None,
        duration_ms: None,
        last_error: None,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

fn recording_queue() -> (MockJobQueue, Arc<Mutex<Vec<NewJob>>>) {
    let jobs = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&jobs);
    let mut queue = MockJobQueue::new();
    queue.expect_enqueue().returning(move |job| {
        seen.lock().unwrap().push(job);
        Ok(JobId::new())
    });
    (queue, jobs)
}

#[tokio::test]
async fn an_event_fans_out_to_the_subscriptions_that_want_it_once() {
    let tenant = TenantId(uuid::Uuid::now_v7());
    let wants = subscription(tenant, &["blog.post.*"]);
    let other = subscription(tenant, &["platform.user.created"]);
    let mut repo = MockWebhookRepository::new();
    let listed = vec![wants.clone(), other.clone()];
    repo.expect_active()
        .withf(move |t| *t == tenant)
        .returning(move |_| Ok(listed.clone()));
    // The first time the delivery is new; the repeat finds it already tried.
    let stored = Arc::new(Mutex::new(None::<Delivery>));
    let keep = Arc::clone(&stored);
    repo.expect_add_delivery().times(2).returning(move |d| {
        assert_eq!(d.subscription_id, wants.id);
        let mut slot = keep.lock().unwrap();
        match slot.as_mut() {
            None => {
                *slot = Some(d.clone());
                Ok((d.clone(), true))
            }
            Some(first) => {
                first.attempts = 1;
                Ok((first.clone(), false))
            }
        }
    });
    let (queue, jobs) = recording_queue();
    let fanout = WebhookFanout::new(
        Arc::new(repo),
        Arc::new(queue),
        Arc::new(SystemClock),
        Arc::new(UuidV7Generator),
    );
    let event = Event::new("blog.post.published", "blog", tenant, json!({"id": "p1"}))
        .with_trace_parent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    fanout.handle(&event).await.unwrap();
    fanout.handle(&event).await.unwrap();
    let jobs = jobs.lock().unwrap();
    assert_eq!(jobs.len(), 1, "one job for one delivery: {jobs:?}");
    assert_eq!(jobs[0].task_type, WEBHOOK_TASK_TYPE);
    let delivery = stored.lock().unwrap().clone().unwrap();
    let body: serde_json::Value = serde_json::from_str(&delivery.body).unwrap();
    assert_eq!(body["type"], "blog.post.published");
    assert_eq!(body["data"], json!({"id": "p1"}));
    assert_eq!(delivery.trace_parent, event.trace_parent);
    assert_eq!(delivery.event_id, event.id.0);
}

/// Runs one delivery job whose attempt ends with `outcome`; returns the
/// saved delivery and the jobs enqueued.
async fn attempt(before: u32, outcome: Result<u16, (Option<u16>, NotifyError)>) -> (Delivery, Vec<NewJob>) {
    let s = subscription(TenantId(uuid::Uuid::now_v7()), &["*"]);
    let d = pending(&s, before);
    let mut repo = MockWebhookRepository::new();
    let found = d.clone();
    repo.expect_find_delivery().returning(move |_| Ok(Some(found.clone())));
    let sub = s.clone();
    repo.expect_find().returning(move |_, _| Ok(Some(sub.clone())));
    let saved = Arc::new(Mutex::new(None));
    let keep = Arc::clone(&saved);
    repo.expect_save_delivery().times(1).returning(move |d| {
        *keep.lock().unwrap() = Some(d.clone());
        Ok(())
    });
    let mut sender = MockWebhookSender::new();
    let message_id = d.id.message_id();
    sender
        .expect_deliver()
        .withf(move |r| r.message_id == message_id && r.trace_parent.is_some() && r.secrets.len() == 1)
        .returning(move |_| match &outcome {
            Ok(status) => Ok(WebhookResponse {
                status: *status,
                duration: Duration::from_millis(12),
            }),
            Err((status, error)) => Err(WebhookFailure {
                status: *status,
                duration: Duration::from_millis(7),
                error: match error {
                    NotifyError::Rejected { channel, reply } => NotifyError::Rejected {
                        channel,
                        reply: reply.clone(),
                    },
                    other => NotifyError::Unavailable {
                        channel: "webhook",
                        reason: other.to_string(),
                    },
                },
            }),
        });
    let (queue, jobs) = recording_queue();
    let channels = Channels {
        webhooks: Some(Arc::new(sender)),
        ..Channels::default()
    };
    let job = WebhookDeliveryJob::new(
        Arc::new(repo),
        Arc::new(channels),
        Arc::new(queue),
        Arc::new(WebhookPolicy::new(3, Duration::from_secs(5), Duration::from_secs(60))),
        Arc::new(SystemClock),
    );
    let payload = serde_json::to_vec(&DeliveryJob {
        delivery: d.id,
        round_start: 0,
    })
    .unwrap();
    job.handle(&payload).await.unwrap();
    let saved = saved.lock().unwrap().clone().unwrap();
    let jobs = jobs.lock().unwrap().clone();
    (saved, jobs)
}

fn unavailable() -> NotifyError {
    NotifyError::Unavailable {
        channel: "webhook",
        reason: "500".into(),
    }
}

#[tokio::test]
async fn a_2xx_settles_the_delivery() {
    let (saved, jobs) = attempt(0, Ok(204)).await;
    assert_eq!(saved.status, DeliveryStatus::Succeeded);
    assert_eq!(
        (saved.attempts, saved.response_status, saved.duration_ms),
        (1, Some(204), Some(12))
    );
    assert!(jobs.is_empty());
}

#[tokio::test]
async fn a_transient_failure_schedules_the_next_attempt_with_backoff() {
    let (saved, jobs) = attempt(1, Err((Some(503), unavailable()))).await;
    assert_eq!(saved.status, DeliveryStatus::Pending);
    assert_eq!((saved.attempts, saved.response_status), (2, Some(503)));
    assert!(saved.last_error.as_deref().unwrap().contains("500"));
    let [next] = jobs.as_slice() else { panic!("{jobs:?}") };
    // Second failure: 5 s × 6.
    let wait = next.run_at.unwrap() - Utc::now();
    assert!(
        wait > chrono::Duration::seconds(25) && wait <= chrono::Duration::seconds(30),
        "{wait}"
    );
    let payload: DeliveryJob = serde_json::from_slice(&next.payload).unwrap();
    assert_eq!(payload.delivery, saved.id);
}

#[tokio::test]
async fn a_refusal_or_the_last_attempt_fails_the_delivery() {
    let refused = NotifyError::Rejected {
        channel: "webhook",
        reply: "410".into(),
    };
    let (saved, jobs) = attempt(0, Err((Some(410), refused))).await;
    assert_eq!((saved.status, saved.attempts), (DeliveryStatus::Failed, 1));
    assert!(jobs.is_empty());
    let (saved, jobs) = attempt(2, Err((None, unavailable()))).await;
    assert_eq!((saved.status, saved.attempts), (DeliveryStatus::Failed, 3));
    assert!(jobs.is_empty());
}

#[test]
fn the_backoff_grows_six_fold_up_to_its_cap() {
    let policy = WebhookPolicy::new(8, Duration::from_secs(5), Duration::from_secs(3600));
    let delays: Vec<u64> = (1..=5).map(|n| policy.delay(n).as_secs()).collect();
    assert_eq!(delays, [5, 30, 180, 1080, 3600]);
    assert_eq!(WebhookPolicy::new(0, Duration::ZERO, Duration::ZERO).max_attempts(), 1);
}
