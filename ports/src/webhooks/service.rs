use async_trait::async_trait;
use shaku::Interface;

use crate::BoxError;
use crate::model::{RequestContext, ValidationErrors};
use crate::webhooks::{Delivery, DeliveryId, Subscription, WebhookId};

/// What webhook use cases can fail with.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Input is invalid (a refused target URL included).
    #[error("validation failed")]
    Validation(ValidationErrors),
    /// No such subscription (or delivery) in the caller's tenant.
    #[error("not found")]
    NotFound,
    /// A dependency failed.
    #[error("webhook backend failed")]
    Backend(#[source] BoxError),
}

/// A new subscription.
#[derive(Clone, Debug, Default)]
pub struct WebhookInput {
    /// Target URL (`http` or `https`).
    pub url: String,
    /// Event types, with wildcards (`blog.post.*`).
    pub event_types: Vec<String>,
    /// Active unless false.
    pub active: Option<bool>,
}

/// A change of a subscription: absent fields stay as they are.
#[derive(Clone, Debug, Default)]
pub struct WebhookPatch {
    /// New target URL.
    pub url: Option<String>,
    /// New event types.
    pub event_types: Option<Vec<String>>,
    /// Turns it on or off.
    pub active: Option<bool>,
}

/// The tenant's webhook subscriptions and their delivery logs; every call
/// acts in the caller's tenant only.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait WebhookService: Interface {
    /// Subscribes `input.url` (checked against the SSRF rule) with a new
    /// secret; the result is the only place the secret is shown.
    ///
    /// # Errors
    /// [`WebhookError::Validation`], [`WebhookError::Backend`].
    async fn create(&self, ctx: &RequestContext, input: WebhookInput) -> Result<Subscription, WebhookError>;

    /// The tenant's subscriptions.
    ///
    /// # Errors
    /// [`WebhookError::Backend`].
    async fn list(&self, ctx: &RequestContext) -> Result<Vec<Subscription>, WebhookError>;

    /// One subscription.
    ///
    /// # Errors
    /// [`WebhookError::NotFound`], [`WebhookError::Backend`].
    async fn get(&self, ctx: &RequestContext, id: WebhookId) -> Result<Subscription, WebhookError>;

    /// Changes a subscription.
    ///
    /// # Errors
    /// [`WebhookError::Validation`], [`WebhookError::NotFound`], [`WebhookError::Backend`].
    async fn update(
        &self,
        ctx: &RequestContext,
        id: WebhookId,
        patch: WebhookPatch,
    ) -> Result<Subscription, WebhookError>;

    /// Deletes a subscription and its log.
    ///
    /// # Errors
    /// [`WebhookError::NotFound`], [`WebhookError::Backend`].
    async fn delete(&self, ctx: &RequestContext, id: WebhookId) -> Result<(), WebhookError>;

    /// The subscription's most recent deliveries, newest first.
    ///
    /// # Errors
    /// [`WebhookError::NotFound`], [`WebhookError::Backend`].
    async fn deliveries(&self, ctx: &RequestContext, id: WebhookId) -> Result<Vec<Delivery>, WebhookError>;

    /// Sends a delivery again (same `webhook-id`, a fresh budget of attempts).
    ///
    /// # Errors
    /// [`WebhookError::NotFound`], [`WebhookError::Backend`].
    async fn redeliver(
        &self,
        ctx: &RequestContext,
        id: WebhookId,
        delivery: DeliveryId,
    ) -> Result<Delivery, WebhookError>;
}
