//! [`WebhookManager`]: the tenant's subscriptions, checked and audited.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use platform_ports::StoreError;
use platform_ports::audit::AuditStore;
use platform_ports::clock::{Clock, IdGenerator};
use platform_ports::jobs::JobQueue;
use platform_ports::model::{FieldError, RequestContext, SecretString, TextKind, ValidationErrors, check_storable};
use platform_ports::notify::NotifyError;
use platform_ports::webhooks::{
    Delivery, DeliveryId, DeliveryStatus, Subscription, WebhookError, WebhookId, WebhookInput, WebhookPatch,
    WebhookRepository, WebhookService,
};
use serde_json::json;

use super::actions;
use super::delivery::enqueue_attempt;
use crate::notify::NotifyChannels;
use crate::support::audit_entry;
use crate::unit_of_work::run_in_unit;

/// Longest accepted target URL.
pub const URL_MAX: usize = 2048;
/// Most event types per subscription.
pub const EVENT_TYPES_MAX: usize = 50;
/// How many deliveries the log shows.
pub const DELIVERY_LOG_LIMIT: usize = 100;

/// Implements [`WebhookService`].
#[derive(shaku::Component)]
#[shaku(interface = WebhookService)]
pub struct WebhookManager {
    #[shaku(inject)]
    uow: Arc<dyn platform_ports::persistence::UnitOfWork>,
    #[shaku(inject)]
    webhooks: Arc<dyn WebhookRepository>,
    #[shaku(inject)]
    audit: Arc<dyn AuditStore>,
    #[shaku(inject)]
    channels: Arc<dyn NotifyChannels>,
    #[shaku(inject)]
    jobs: Arc<dyn JobQueue>,
    #[shaku(inject)]
    clock: Arc<dyn Clock>,
    #[shaku(inject)]
    ids: Arc<dyn IdGenerator>,
}

fn store_error(err: StoreError) -> WebhookError {
    match err {
        StoreError::NotFound => WebhookError::NotFound,
        other => WebhookError::Backend(Box::new(other)),
    }
}

/// A new signing secret: `whsec_` and 24 random bytes in base64 (the
/// Standard Webhooks form; a v4 UUID carries 122 random bits).
fn new_secret() -> SecretString {
    use base64::Engine as _;
    let mut key = Vec::with_capacity(32);
    key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    key.extend_from_slice(&uuid::Uuid::new_v4().as_bytes()[..8]);
    SecretString::new(format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    ))
}

/// An event type pattern: dot-separated segments of `[a-z0-9_]`, the last
/// of which may be `*` (or `*` alone).
fn valid_pattern(pattern: &str) -> bool {
    let segments: Vec<&str> = pattern.split('.').collect();
    let last = segments.len() - 1;
    pattern.len() <= 200
        && segments.iter().enumerate().all(|(i, s)| {
            (i == last && *s == "*")
                || (!s.is_empty()
                    && s.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
        })
}

fn check_event_types(types: &[String], errors: &mut ValidationErrors) {
    if types.is_empty() {
        errors.push(FieldError::new(
            "event_types",
            "required",
            "must name at least one event type",
        ));
    } else if types.len() > EVENT_TYPES_MAX {
        errors.push(FieldError::new(
            "event_types",
            "too_many",
            format!("at most {EVENT_TYPES_MAX} event types"),
        ));
    }
    for t in types {
        if !valid_pattern(t) {
            errors.push(FieldError::new(
                "event_types",
                "invalid",
                format!("`{t}` is not an event type (`blog.post.published`) or a wildcard (`blog.post.*`, `*`)"),
            ));
        }
    }
}

impl WebhookManager {
    /// Checks the URL's form and, unless private targets are allowed, that
    /// it resolves to public addresses only (SSRF); collects what is wrong.
    async fn check_url(&self, url: &str, errors: &mut ValidationErrors) -> Result<(), WebhookError> {
        if url.is_empty() || url.len() > URL_MAX {
            errors.push(FieldError::new(
                "url",
                "invalid",
                format!("must be an http(s) URL of at most {URL_MAX} characters"),
            ));
            return Ok(());
        }
        // The URL is stored as sent: one PostgreSQL cannot hold (a NUL) must
        // be refused on every adapter, and a URL parser would quietly drop
        // or encode the other control characters.
        if let Err(err) = check_storable("url", url, TextKind::SingleLine) {
            errors.push(err);
            return Ok(());
        }
        let sender = self
            .channels
            .webhooks()
            .ok_or_else(|| WebhookError::Backend(Box::new(NotifyError::ChannelNotConfigured("webhook"))))?;
        match sender.check_target(url).await {
            Ok(()) => Ok(()),
            Err(NotifyError::Invalid(reason)) => {
                errors.push(FieldError::new("url", "refused_target", reason));
                Ok(())
            }
            Err(other) => Err(WebhookError::Backend(Box::new(other))),
        }
    }

    async fn load(&self, ctx: &RequestContext, id: WebhookId) -> Result<Subscription, WebhookError> {
        self.webhooks
            .find(ctx.tenant_id, id)
            .await
            .map_err(store_error)?
            .ok_or(WebhookError::NotFound)
    }

    /// Runs `write` and its audit entry in one unit of work.
    async fn audited(
        &self,
        ctx: &RequestContext,
        action: &str,
        subscription: &Subscription,
        write: impl AsyncFnOnce(&mut platform_ports::persistence::Transaction) -> Result<(), StoreError>,
    ) -> Result<(), WebhookError> {
        run_in_unit(self.uow.as_ref(), store_error, async |tx| {
            write(tx).await.map_err(store_error)?;
            let metadata = BTreeMap::from([
                ("url".to_owned(), json!(subscription.url)),
                ("event_types".to_owned(), json!(subscription.event_types)),
                ("active".to_owned(), json!(subscription.active)),
            ]);
            let entry = audit_entry(
                ctx,
                self.clock.as_ref(),
                self.ids.as_ref(),
                action,
                Some(subscription.id.to_string()),
                metadata,
            );
            self.audit.append(tx, &entry).await.map_err(store_error)
        })
        .await
    }
}

#[async_trait]
impl WebhookService for WebhookManager {
    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id))]
    async fn create(&self, ctx: &RequestContext, input: WebhookInput) -> Result<Subscription, WebhookError> {
        let mut errors = ValidationErrors::default();
        let url = input.url.trim().to_owned();
        self.check_url(&url, &mut errors).await?;
        check_event_types(&input.event_types, &mut errors);
        errors.into_result().map_err(WebhookError::Validation)?;
        let now = self.clock.now();
        let subscription = Subscription {
            id: WebhookId(self.ids.new_id()),
            tenant_id: ctx.tenant_id,
            url,
            event_types: input.event_types,
            secret: new_secret(),
            active: input.active.unwrap_or(true),
            created_at: now,
            updated_at: now,
        };
        self.audited(ctx, actions::CREATED, &subscription, async |tx| {
            self.webhooks.create(tx, &subscription).await
        })
        .await?;
        Ok(subscription)
    }

    async fn list(&self, ctx: &RequestContext) -> Result<Vec<Subscription>, WebhookError> {
        self.webhooks.list(ctx.tenant_id).await.map_err(store_error)
    }

    async fn get(&self, ctx: &RequestContext, id: WebhookId) -> Result<Subscription, WebhookError> {
        self.load(ctx, id).await
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, webhook_id = %id))]
    async fn update(
        &self,
        ctx: &RequestContext,
        id: WebhookId,
        patch: WebhookPatch,
    ) -> Result<Subscription, WebhookError> {
        let mut subscription = self.load(ctx, id).await?;
        let mut errors = ValidationErrors::default();
        if let Some(url) = patch.url {
            let url = url.trim().to_owned();
            self.check_url(&url, &mut errors).await?;
            subscription.url = url;
        }
        if let Some(types) = patch.event_types {
            check_event_types(&types, &mut errors);
            subscription.event_types = types;
        }
        if let Some(active) = patch.active {
            subscription.active = active;
        }
        errors.into_result().map_err(WebhookError::Validation)?;
        subscription.updated_at = self.clock.now();
        self.audited(ctx, actions::UPDATED, &subscription, async |tx| {
            self.webhooks.update(tx, &subscription).await
        })
        .await?;
        Ok(subscription)
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, webhook_id = %id))]
    async fn delete(&self, ctx: &RequestContext, id: WebhookId) -> Result<(), WebhookError> {
        let subscription = self.load(ctx, id).await?;
        self.audited(ctx, actions::DELETED, &subscription, async |tx| {
            self.webhooks.delete(tx, ctx.tenant_id, id).await
        })
        .await
    }

    async fn deliveries(&self, ctx: &RequestContext, id: WebhookId) -> Result<Vec<Delivery>, WebhookError> {
        self.load(ctx, id).await?;
        self.webhooks
            .deliveries(ctx.tenant_id, id, DELIVERY_LOG_LIMIT)
            .await
            .map_err(store_error)
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, webhook_id = %id))]
    async fn redeliver(
        &self,
        ctx: &RequestContext,
        id: WebhookId,
        delivery: DeliveryId,
    ) -> Result<Delivery, WebhookError> {
        let subscription = self.load(ctx, id).await?;
        let mut found = self
            .webhooks
            .find_delivery(delivery)
            .await
            .map_err(store_error)?
            .filter(|d| d.subscription_id == id && d.tenant_id == ctx.tenant_id)
            .ok_or(WebhookError::NotFound)?;
        found.status = DeliveryStatus::Pending;
        found.updated_at = self.clock.now();
        self.webhooks.save_delivery(&found).await.map_err(store_error)?;
        // A fresh budget of attempts: the job counts from the attempts made so far.
        enqueue_attempt(self.jobs.as_ref(), &found, found.attempts, None)
            .await
            .map_err(|e| WebhookError::Backend(Box::new(e)))?;
        self.audited(ctx, actions::REDELIVERED, &subscription, async |_| Ok(()))
            .await?;
        Ok(found)
    }
}
