//! Webhook subscriptions and their deliveries.
//!
//! Subscriptions are written in units of work; deliveries outside them
//! (the fan-out and the delivery jobs write one row at a time), through
//! the store's table-wide update.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use im::OrdMap;
use platform_ports::StoreError;
use platform_ports::model::TenantId;
use platform_ports::persistence::Transaction;
use platform_ports::webhooks::{Delivery, DeliveryId, Subscription, WebhookId, WebhookRepository};
use shaku::Component;
use uuid::Uuid;

use crate::store::{MemoryStore, MemoryTx};

/// Subscriptions, and deliveries with their (subscription, event) index.
#[derive(Clone, Default)]
pub(crate) struct WebhookTable {
    subscriptions: OrdMap<WebhookId, Subscription>,
    deliveries: OrdMap<DeliveryId, Delivery>,
    by_event: OrdMap<(WebhookId, Uuid), DeliveryId>,
}

impl WebhookTable {
    fn subscription(&self, tenant: TenantId, id: WebhookId) -> Option<&Subscription> {
        self.subscriptions.get(&id).filter(|s| s.tenant_id == tenant)
    }
}

/// [`WebhookRepository`] over a [`MemoryStore`].
#[derive(Component)]
#[shaku(interface = WebhookRepository)]
pub struct MemoryWebhookRepository {
    store: Arc<MemoryStore>,
}

impl MemoryWebhookRepository {
    /// Subscriptions over `store`.
    #[must_use]
    pub fn new(store: Arc<MemoryStore>) -> Self {
        Self { store }
    }

    fn tenant_subscriptions(&self, tenant: TenantId, active_only: bool) -> Vec<Subscription> {
        let mut found: Vec<Subscription> = self
            .store
            .snapshot()
            .tables
            .webhooks
            .subscriptions
            .values()
            .filter(|s| s.tenant_id == tenant && (s.active || !active_only))
            .cloned()
            .collect();
        found.sort_by_key(|s| (s.created_at, s.id));
        found
    }
}

impl fmt::Debug for MemoryWebhookRepository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryWebhookRepository").finish_non_exhaustive()
    }
}

#[async_trait]
impl WebhookRepository for MemoryWebhookRepository {
    async fn find(&self, tenant: TenantId, id: WebhookId) -> Result<Option<Subscription>, StoreError> {
        Ok(self.store.snapshot().tables.webhooks.subscription(tenant, id).cloned())
    }

    async fn list(&self, tenant: TenantId) -> Result<Vec<Subscription>, StoreError> {
        Ok(self.tenant_subscriptions(tenant, false))
    }

    async fn active(&self, tenant: TenantId) -> Result<Vec<Subscription>, StoreError> {
        Ok(self.tenant_subscriptions(tenant, true))
    }

    async fn create(&self, tx: &mut Transaction, subscription: &Subscription) -> Result<(), StoreError> {
        MemoryTx::of(tx, &self.store)?.write(|tables| {
            let table = &mut tables.webhooks;
            if table.subscriptions.contains_key(&subscription.id) {
                return Err(StoreError::Conflict("webhook_id".to_owned()));
            }
            table.subscriptions.insert(subscription.id, subscription.clone());
            Ok(())
        })
    }

    async fn update(&self, tx: &mut Transaction, subscription: &Subscription) -> Result<(), StoreError> {
        MemoryTx::of(tx, &self.store)?.write(|tables| {
            let table = &mut tables.webhooks;
            table
                .subscription(subscription.tenant_id, subscription.id)
                .ok_or(StoreError::NotFound)?;
            table.subscriptions.insert(subscription.id, subscription.clone());
            Ok(())
        })
    }

    async fn delete(&self, tx: &mut Transaction, tenant: TenantId, id: WebhookId) -> Result<(), StoreError> {
        MemoryTx::of(tx, &self.store)?.write(|tables| {
            let table = &mut tables.webhooks;
            table.subscription(tenant, id).ok_or(StoreError::NotFound)?;
            table.subscriptions.remove(&id);
            let gone: Vec<(WebhookId, Uuid)> = table.by_event.keys().filter(|(s, _)| *s == id).copied().collect();
            for key in gone {
                if let Some(delivery) = table.by_event.remove(&key) {
                    table.deliveries.remove(&delivery);
                }
            }
            Ok(())
        })
    }

    async fn add_delivery(&self, delivery: &Delivery) -> Result<(Delivery, bool), StoreError> {
        self.store
            .update_tables(|tables| {
                let table = &mut tables.webhooks;
                table
                    .subscription(delivery.tenant_id, delivery.subscription_id)
                    .ok_or(StoreError::NotFound)?;
                let key = (delivery.subscription_id, delivery.event_id);
                if let Some(existing) = table.by_event.get(&key).and_then(|id| table.deliveries.get(id)) {
                    return Ok((existing.clone(), false));
                }
                table.by_event.insert(key, delivery.id);
                table.deliveries.insert(delivery.id, delivery.clone());
                Ok((delivery.clone(), true))
            })
            .await
    }

    async fn find_delivery(&self, id: DeliveryId) -> Result<Option<Delivery>, StoreError> {
        Ok(self.store.snapshot().tables.webhooks.deliveries.get(&id).cloned())
    }

    async fn save_delivery(&self, delivery: &Delivery) -> Result<(), StoreError> {
        self.store
            .update_tables(|tables| {
                let slot = tables
                    .webhooks
                    .deliveries
                    .get_mut(&delivery.id)
                    .ok_or(StoreError::NotFound)?;
                *slot = delivery.clone();
                Ok(())
            })
            .await
    }

    async fn deliveries(
        &self,
        tenant: TenantId,
        subscription: WebhookId,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let mut found: Vec<Delivery> = self
            .store
            .snapshot()
            .tables
            .webhooks
            .deliveries
            .values()
            .filter(|d| d.tenant_id == tenant && d.subscription_id == subscription)
            .cloned()
            .collect();
        found.sort_by_key(|d| std::cmp::Reverse((d.created_at, d.id)));
        found.truncate(limit);
        Ok(found)
    }
}
