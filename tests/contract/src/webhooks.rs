//! The webhook repository: subscriptions per tenant, one delivery per
//! (subscription, event), the delivery log, and deletion taking the log along.

use std::sync::Arc;

use platform_ports::StoreError;
use platform_ports::model::{SecretString, TenantId};
use platform_ports::persistence::UnitOfWork;
use platform_ports::webhooks::{Delivery, DeliveryId, DeliveryStatus, Subscription, WebhookId, WebhookRepository};
use uuid::Uuid;

use crate::fixtures::{at, committed, tenant};

/// A subscription of `tenant` created at `at(seconds)`.
#[must_use]
pub fn subscription(tenant: TenantId, seconds: i64, active: bool) -> Subscription {
    Subscription {
        id: WebhookId::new(),
        tenant_id: tenant,
        url: "https://hooks.example.com/in".to_owned(),
        event_types: vec!["blog.post.*".to_owned(), "platform.user.created".to_owned()],
        secret: SecretString::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        active,
        created_at: at(seconds),
        updated_at: at(seconds),
    }
}

/// A pending delivery of `event` to `subscription`, created at `at(seconds)`.
#[must_use]
pub fn delivery(subscription: &Subscription, event: Uuid, seconds: i64) -> Delivery {
    Delivery {
        id: DeliveryId::new(),
        subscription_id: subscription.id,
        tenant_id: subscription.tenant_id,
        event_id: event,
        event_type: "blog.post.published".to_owned(),
        body: r#"{"type":"blog.post.published","data":{"title":"Zoë"}}"#.to_owned(),
        trace_parent: Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_owned()),
        status: DeliveryStatus::Pending,
        attempts: 0,
        response_status: None,
        duration_ms: None,
        last_error: None,
        created_at: at(seconds),
        updated_at: at(seconds),
    }
}

/// Create, find, list (active or all), update, delete; tenants apart.
pub async fn webhook_subscriptions(webhooks: Arc<dyn WebhookRepository>, uow: Arc<dyn UnitOfWork>) {
    let (t, other) = (tenant(), tenant());
    let first = subscription(t, 1, true);
    let off = subscription(t, 2, false);
    let foreign = subscription(other, 3, true);
    for s in [&first, &off, &foreign] {
        committed(&*uow, async |tx| webhooks.create(tx, s).await).await.unwrap();
    }
    let dup = committed(&*uow, async |tx| webhooks.create(tx, &first).await).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    assert_eq!(webhooks.find(t, first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(webhooks.find(other, first.id).await.unwrap(), None);
    assert_eq!(webhooks.list(t).await.unwrap(), vec![first.clone(), off.clone()]);
    assert_eq!(webhooks.active(t).await.unwrap(), vec![first.clone()]);
    assert_eq!(webhooks.active(other).await.unwrap(), vec![foreign.clone()]);

    let changed = Subscription {
        url: "https://hooks.example.com/v2".to_owned(),
        event_types: vec!["*".to_owned()],
        active: false,
        updated_at: at(9),
        ..first.clone()
    };
    committed(&*uow, async |tx| webhooks.update(tx, &changed).await)
        .await
        .unwrap();
    assert_eq!(webhooks.find(t, first.id).await.unwrap(), Some(changed.clone()));
    assert!(webhooks.active(t).await.unwrap().is_empty());
    // Another tenant's row cannot be changed or deleted through this one.
    let hijack = Subscription {
        tenant_id: t,
        ..foreign.clone()
    };
    let refused = committed(&*uow, async |tx| webhooks.update(tx, &hijack).await).await;
    assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");
    let refused = committed(&*uow, async |tx| webhooks.delete(tx, t, foreign.id).await).await;
    assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");

    committed(&*uow, async |tx| webhooks.delete(tx, t, first.id).await)
        .await
        .unwrap();
    assert_eq!(webhooks.find(t, first.id).await.unwrap(), None);
    // A rolled-back creation leaves nothing.
    let ghost = subscription(t, 4, true);
    let _ = committed(&*uow, async |tx| {
        webhooks.create(tx, &ghost).await?;
        Err::<(), _>(StoreError::Conflict("rolled back".to_owned()))
    })
    .await;
    assert_eq!(webhooks.find(t, ghost.id).await.unwrap(), None);
}

/// One delivery per (subscription, event); saving, the newest-first log,
/// and deletion of the subscription taking its log along.
pub async fn webhook_deliveries(webhooks: Arc<dyn WebhookRepository>, uow: Arc<dyn UnitOfWork>) {
    let t = tenant();
    let s = subscription(t, 1, true);
    committed(&*uow, async |tx| webhooks.create(tx, &s).await)
        .await
        .unwrap();
    let event = Uuid::now_v7();
    let d = delivery(&s, event, 2);
    let (stored, new) = webhooks.add_delivery(&d).await.unwrap();
    assert!(new);
    assert_eq!(stored, d);
    // The same event again: the first delivery, not a second one.
    let twin = delivery(&s, event, 3);
    let (stored, new) = webhooks.add_delivery(&twin).await.unwrap();
    assert!(!new);
    assert_eq!(stored.id, d.id);
    assert_eq!(webhooks.find_delivery(twin.id).await.unwrap(), None);

    let later = delivery(&s, Uuid::now_v7(), 5);
    webhooks.add_delivery(&later).await.unwrap();
    let done = Delivery {
        status: DeliveryStatus::Failed,
        attempts: 3,
        response_status: Some(503),
        duration_ms: Some(1250),
        last_error: Some("webhook is unavailable: 503".to_owned()),
        updated_at: at(8),
        ..d.clone()
    };
    webhooks.save_delivery(&done).await.unwrap();
    assert_eq!(webhooks.find_delivery(d.id).await.unwrap(), Some(done.clone()));
    assert_eq!(
        webhooks.deliveries(t, s.id, 10).await.unwrap(),
        vec![later.clone(), done.clone()]
    );
    assert_eq!(webhooks.deliveries(t, s.id, 1).await.unwrap(), vec![later.clone()]);
    assert!(webhooks.deliveries(tenant(), s.id, 10).await.unwrap().is_empty());

    // No delivery for a subscription of another tenant, or one that is gone.
    let stray = Delivery {
        tenant_id: tenant(),
        ..delivery(&s, Uuid::now_v7(), 6)
    };
    assert!(matches!(webhooks.add_delivery(&stray).await, Err(StoreError::NotFound)));
    let unknown = delivery(&subscription(t, 7, true), Uuid::now_v7(), 7);
    assert!(matches!(
        webhooks.add_delivery(&unknown).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        webhooks.save_delivery(&unknown).await,
        Err(StoreError::NotFound)
    ));

    committed(&*uow, async |tx| webhooks.delete(tx, t, s.id).await)
        .await
        .unwrap();
    assert_eq!(webhooks.find_delivery(d.id).await.unwrap(), None);
    assert!(webhooks.deliveries(t, s.id, 10).await.unwrap().is_empty());
}
