//! Webhook subscriptions (`webhook_subscriptions`) and their delivery log
//! (`webhook_deliveries`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_ports::StoreError;
use platform_ports::model::{SecretString, TenantId};
use platform_ports::persistence::Transaction;
use platform_ports::webhooks::{Delivery, DeliveryId, DeliveryStatus, Subscription, WebhookId, WebhookRepository};
use uuid::Uuid;

use crate::database::PgDatabase;
use crate::error::{corrupt, found};
use crate::scope::{Bypass, Scope};
use crate::uow::PgTx;

macro_rules! subscription_columns {
    () => {
        "id, tenant_id, url, event_types, secret, active, created_at, updated_at"
    };
}

macro_rules! delivery_columns {
    () => {
        "id, subscription_id, tenant_id, event_id, event_type, body, trace_parent, status, attempts, \
         response_status, duration_ms, last_error, created_at, updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct SubscriptionRow {
    id: Uuid,
    tenant_id: Uuid,
    url: String,
    event_types: Vec<String>,
    secret: String,
    active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<SubscriptionRow> for Subscription {
    fn from(row: SubscriptionRow) -> Self {
        Self {
            id: WebhookId(row.id),
            tenant_id: TenantId(row.tenant_id),
            url: row.url,
            event_types: row.event_types,
            secret: SecretString::new(row.secret),
            active: row.active,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: Uuid,
    subscription_id: Uuid,
    tenant_id: Uuid,
    event_id: Uuid,
    event_type: String,
    body: String,
    trace_parent: Option<String>,
    status: String,
    attempts: i32,
    response_status: Option<i32>,
    duration_ms: Option<i64>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl DeliveryRow {
    fn into_delivery(self) -> Result<Delivery, StoreError> {
        Ok(Delivery {
            id: DeliveryId(self.id),
            subscription_id: WebhookId(self.subscription_id),
            tenant_id: TenantId(self.tenant_id),
            event_id: self.event_id,
            event_type: self.event_type,
            body: self.body,
            trace_parent: self.trace_parent,
            status: DeliveryStatus::parse(&self.status)
                .ok_or_else(|| corrupt("webhook delivery status", &self.status))?,
            attempts: u32::try_from(self.attempts).map_err(|e| corrupt("webhook delivery attempts", e))?,
            response_status: self
                .response_status
                .map(u16::try_from)
                .transpose()
                .map_err(|e| corrupt("webhook response status", e))?,
            duration_ms: self.duration_ms.map(|d| u64::try_from(d).unwrap_or(0)),
            last_error: self.last_error,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

const LIST: &str = concat!(
    "SELECT ",
    subscription_columns!(),
    " FROM webhook_subscriptions WHERE tenant_id = $1 AND (active OR NOT $2) ORDER BY created_at, id"
);
const FIND: &str = concat!(
    "SELECT ",
    subscription_columns!(),
    " FROM webhook_subscriptions WHERE tenant_id = $1 AND id = $2"
);
const UPDATE: &str = "UPDATE webhook_subscriptions SET url = $3, event_types = $4, secret = $5, active = $6, \
     updated_at = $7 WHERE tenant_id = $1 AND id = $2";
const DELETE: &str = "DELETE FROM webhook_subscriptions WHERE tenant_id = $1 AND id = $2";

/// The same statements with the tenant predicate forgotten (`$1` still
/// bound, so the statements take the same parameters): what
/// [`PgWebhookRepository::without_tenant_filter`] runs.
mod unfiltered {
    pub(super) const LIST: &str = concat!(
        "SELECT ",
        subscription_columns!(),
        " FROM webhook_subscriptions WHERE $1::uuid IS NOT NULL AND (active OR NOT $2) ORDER BY created_at, id"
    );
    pub(super) const FIND: &str = concat!(
        "SELECT ",
        subscription_columns!(),
        " FROM webhook_subscriptions WHERE $1::uuid IS NOT NULL AND id = $2"
    );
    pub(super) const UPDATE: &str = "UPDATE webhook_subscriptions SET url = $3, event_types = $4, secret = $5, \
         active = $6, updated_at = $7 WHERE $1::uuid IS NOT NULL AND id = $2";
    pub(super) const DELETE: &str = "DELETE FROM webhook_subscriptions WHERE $1::uuid IS NOT NULL AND id = $2";
}

/// [`WebhookRepository`] over a [`PgDatabase`].
#[derive(Clone, Debug)]
pub struct PgWebhookRepository {
    db: PgDatabase,
    tenant_filter: bool,
}

impl PgWebhookRepository {
    /// Subscriptions over `db`.
    #[must_use]
    pub fn new(db: PgDatabase) -> Self {
        Self {
            db,
            tenant_filter: true,
        }
    }

    /// The same repository whose subscription statements forget their
    /// tenant predicate: the "one forgotten `WHERE`" that row-level
    /// security must still contain (its test reads and writes across
    /// tenants through it and finds nothing). Never wired by bootstrap.
    #[doc(hidden)]
    #[must_use]
    pub fn without_tenant_filter(self) -> Self {
        Self {
            tenant_filter: false,
            ..self
        }
    }

    fn statement(&self, filtered: &'static str, unfiltered: &'static str) -> &'static str {
        if self.tenant_filter { filtered } else { unfiltered }
    }

    async fn subscriptions(&self, tenant: TenantId, active_only: bool) -> Result<Vec<Subscription>, StoreError> {
        let sql = self.statement(LIST, unfiltered::LIST);
        let rows: Vec<SubscriptionRow> = self
            .db
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("webhooks.list", |conn| {
                sqlx::query_as(sql).bind(tenant.0).bind(active_only).fetch_all(conn)
            })
            .await?;
        Ok(rows.into_iter().map(Subscription::from).collect())
    }
}

fn attempts(delivery: &Delivery) -> i32 {
    i32::try_from(delivery.attempts).unwrap_or(i32::MAX)
}

fn duration(delivery: &Delivery) -> Option<i64> {
    delivery.duration_ms.map(|d| i64::try_from(d).unwrap_or(i64::MAX))
}

#[async_trait]
impl WebhookRepository for PgWebhookRepository {
    async fn find(&self, tenant: TenantId, id: WebhookId) -> Result<Option<Subscription>, StoreError> {
        let sql = self.statement(FIND, unfiltered::FIND);
        let row: Option<SubscriptionRow> = self
            .db
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("webhooks.find", |conn| {
                sqlx::query_as(sql).bind(tenant.0).bind(id.0).fetch_optional(conn)
            })
            .await?;
        Ok(row.map(Subscription::from))
    }

    async fn list(&self, tenant: TenantId) -> Result<Vec<Subscription>, StoreError> {
        self.subscriptions(tenant, false).await
    }

    async fn active(&self, tenant: TenantId) -> Result<Vec<Subscription>, StoreError> {
        self.subscriptions(tenant, true).await
    }

    async fn create(&self, tx: &mut Transaction, s: &Subscription) -> Result<(), StoreError> {
        let inserted = PgTx::of(tx)?
            .scoped(Scope::Tenant(s.tenant_id))
            .await?
            .run("webhooks.create", |conn| {
                sqlx::query(concat!(
                    "INSERT INTO webhook_subscriptions (",
                    subscription_columns!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING"
                ))
                .bind(s.id.0)
                .bind(s.tenant_id.0)
                .bind(s.url.as_str())
                .bind(s.event_types.as_slice())
                .bind(s.secret.expose())
                .bind(s.active)
                .bind(s.created_at)
                .bind(s.updated_at)
                .execute(conn)
            })
            .await?
            .rows_affected();
        if inserted == 0 {
            return Err(StoreError::Conflict("webhook_id".to_owned()));
        }
        Ok(())
    }

    async fn update(&self, tx: &mut Transaction, s: &Subscription) -> Result<(), StoreError> {
        let sql = self.statement(UPDATE, unfiltered::UPDATE);
        let updated = PgTx::of(tx)?
            .scoped(Scope::Tenant(s.tenant_id))
            .await?
            .run("webhooks.update", |conn| {
                sqlx::query(sql)
                    .bind(s.tenant_id.0)
                    .bind(s.id.0)
                    .bind(s.url.as_str())
                    .bind(s.event_types.as_slice())
                    .bind(s.secret.expose())
                    .bind(s.active)
                    .bind(s.updated_at)
                    .execute(conn)
            })
            .await?
            .rows_affected();
        found(updated)
    }

    async fn delete(&self, tx: &mut Transaction, tenant: TenantId, id: WebhookId) -> Result<(), StoreError> {
        // The delivery log goes with it (ON DELETE CASCADE).
        let sql = self.statement(DELETE, unfiltered::DELETE);
        let deleted = PgTx::of(tx)?
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("webhooks.delete", |conn| {
                sqlx::query(sql).bind(tenant.0).bind(id.0).execute(conn)
            })
            .await?
            .rows_affected();
        found(deleted)
    }

    async fn add_delivery(&self, d: &Delivery) -> Result<(Delivery, bool), StoreError> {
        // Inserted, or the existing row of the same (subscription, event);
        // the subscription must exist in the delivery's tenant.
        let mut tx = self.db.scoped(Scope::Tenant(d.tenant_id)).await?;
        let row: Option<DeliveryRow> = tx
            .run("webhooks.add_delivery", |conn| {
                sqlx::query_as(concat!(
                    "WITH inserted AS (INSERT INTO webhook_deliveries (",
                    delivery_columns!(),
                    ") SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 \
                     WHERE EXISTS (SELECT 1 FROM webhook_subscriptions WHERE id = $2 AND tenant_id = $3) \
                     ON CONFLICT (subscription_id, event_id) DO NOTHING RETURNING ",
                    delivery_columns!(),
                    ") SELECT ",
                    delivery_columns!(),
                    " FROM inserted UNION ALL SELECT ",
                    delivery_columns!(),
                    " FROM webhook_deliveries WHERE subscription_id = $2 AND event_id = $4 LIMIT 1"
                ))
                .bind(d.id.0)
                .bind(d.subscription_id.0)
                .bind(d.tenant_id.0)
                .bind(d.event_id)
                .bind(d.event_type.as_str())
                .bind(d.body.as_str())
                .bind(d.trace_parent.as_deref())
                .bind(d.status.as_str())
                .bind(attempts(d))
                .bind(d.response_status.map(i32::from))
                .bind(duration(d))
                .bind(d.last_error.as_deref())
                .bind(d.created_at)
                .bind(d.updated_at)
                .fetch_optional(conn)
            })
            .await?;
        tx.finish().await?;
        let stored = row.ok_or(StoreError::NotFound)?.into_delivery()?;
        let inserted = stored.id == d.id;
        Ok((stored, inserted))
    }

    async fn find_delivery(&self, id: DeliveryId) -> Result<Option<Delivery>, StoreError> {
        let row: Option<DeliveryRow> = self
            .db
            .scoped(Scope::Bypass(Bypass::WebhookDelivery))
            .await?
            .run("webhooks.find_delivery", |conn| {
                sqlx::query_as(concat!(
                    "SELECT ",
                    delivery_columns!(),
                    " FROM webhook_deliveries WHERE id = $1"
                ))
                .bind(id.0)
                .fetch_optional(conn)
            })
            .await?;
        row.map(DeliveryRow::into_delivery).transpose()
    }

    async fn save_delivery(&self, d: &Delivery) -> Result<(), StoreError> {
        let mut tx = self.db.scoped(Scope::Tenant(d.tenant_id)).await?;
        let updated = tx
            .run("webhooks.save_delivery", |conn| {
                sqlx::query(
                    "UPDATE webhook_deliveries SET status = $2, attempts = $3, response_status = $4, \
                     duration_ms = $5, last_error = $6, updated_at = $7 WHERE id = $1",
                )
                .bind(d.id.0)
                .bind(d.status.as_str())
                .bind(attempts(d))
                .bind(d.response_status.map(i32::from))
                .bind(duration(d))
                .bind(d.last_error.as_deref())
                .bind(d.updated_at)
                .execute(conn)
            })
            .await?
            .rows_affected();
        tx.finish().await?;
        found(updated)
    }

    async fn deliveries(
        &self,
        tenant: TenantId,
        subscription: WebhookId,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let rows: Vec<DeliveryRow> = self
            .db
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("webhooks.deliveries", |conn| {
                sqlx::query_as(concat!(
                    "SELECT ",
                    delivery_columns!(),
                    " FROM webhook_deliveries WHERE tenant_id = $1 AND subscription_id = $2 \
                     ORDER BY created_at DESC, id DESC LIMIT $3"
                ))
                .bind(tenant.0)
                .bind(subscription.0)
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .fetch_all(conn)
            })
            .await?;
        rows.into_iter().map(DeliveryRow::into_delivery).collect()
    }
}
