use async_trait::async_trait;
use shaku::Interface;

use crate::StoreError;
use crate::model::TenantId;
use crate::persistence::Transaction;
use crate::webhooks::{Delivery, DeliveryId, Subscription, WebhookId};

/// Stores webhook subscriptions and their deliveries.
///
/// Subscriptions change in the use case's unit of work (with its audit
/// entry); deliveries are written by the fan-out and the delivery jobs on
/// their own, one row at a time.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait WebhookRepository: Interface {
    /// The subscription with this id in the tenant.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn find(&self, tenant: TenantId, id: WebhookId) -> Result<Option<Subscription>, StoreError>;

    /// The tenant's subscriptions, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn list(&self, tenant: TenantId) -> Result<Vec<Subscription>, StoreError>;

    /// The tenant's active subscriptions (what an event fans out to).
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn active(&self, tenant: TenantId) -> Result<Vec<Subscription>, StoreError>;

    /// Inserts a subscription.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the id exists, [`StoreError::Backend`].
    async fn create(&self, tx: &mut Transaction, subscription: &Subscription) -> Result<(), StoreError>;

    /// Replaces a subscription (in its tenant).
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Backend`].
    async fn update(&self, tx: &mut Transaction, subscription: &Subscription) -> Result<(), StoreError>;

    /// Deletes a subscription and its delivery log.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Backend`].
    async fn delete(&self, tx: &mut Transaction, tenant: TenantId, id: WebhookId) -> Result<(), StoreError>;

    /// Records `delivery` unless one exists for the same subscription and
    /// event; returns the stored one and whether it is new. This is what
    /// makes the fan-out idempotent when the bus repeats an event.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the subscription is gone, [`StoreError::Backend`].
    async fn add_delivery(&self, delivery: &Delivery) -> Result<(Delivery, bool), StoreError>;

    /// One delivery, whatever its tenant (the delivery job knows only its id).
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn find_delivery(&self, id: DeliveryId) -> Result<Option<Delivery>, StoreError>;

    /// Saves a delivery's status, attempts and last answer.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Backend`].
    async fn save_delivery(&self, delivery: &Delivery) -> Result<(), StoreError>;

    /// A subscription's deliveries, newest first, at most `limit`.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn deliveries(
        &self,
        tenant: TenantId,
        subscription: WebhookId,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError>;
}
