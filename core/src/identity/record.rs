//! How identity changes are recorded: audit entries and identity events,
//! stamped from the clock and the id generator and written into the unit
//! of work. Both managers record the same way; each says where its ports are.

use std::collections::BTreeMap;

use async_trait::async_trait;
use platform_ports::audit::{AuditEntry, AuditStore};
use platform_ports::authz::Permission;
use platform_ports::clock::{Clock, IdGenerator};
use platform_ports::events::{Event, Outbox};
use platform_ports::identity::{IdentityError, Role};
use platform_ports::model::{RequestContext, UserId};
use platform_ports::persistence::Transaction;
use serde_json::json;

use super::failures::store_error;
use super::names::{EVENT_SOURCE, actions, events};
use crate::meta;
use crate::support::{IDENTITY_TOPIC, audit_entry_as, event};

/// Whether a user gained or lost a role.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Assignment {
    /// The role was assigned.
    Assigned,
    /// The role was taken away.
    Revoked,
}

/// Builds and writes the audit entries and events of identity changes.
#[async_trait]
pub(crate) trait Recorder: Sync {
    /// The clock and the id generator that stamp entries and events.
    fn stamps(&self) -> (&dyn Clock, &dyn IdGenerator);

    /// The audit store and the outbox changes are written to.
    fn stores(&self) -> (&dyn AuditStore, &dyn Outbox);

    /// An audit entry attributed from the context.
    fn entry(
        &self,
        ctx: &RequestContext,
        action: &str,
        target: impl ToString,
        metadata: BTreeMap<String, serde_json::Value>,
    ) -> AuditEntry {
        self.entry_as(ctx, ctx.user_id(), action, target, metadata)
    }

    /// An audit entry by `actor`; `None` for start-up and the CLI, which
    /// act for nobody.
    fn entry_as(
        &self,
        ctx: &RequestContext,
        actor: Option<UserId>,
        action: &str,
        target: impl ToString,
        metadata: BTreeMap<String, serde_json::Value>,
    ) -> AuditEntry {
        let (clock, ids) = self.stamps();
        audit_entry_as(ctx, clock, ids, actor, action, Some(target.to_string()), metadata)
    }

    /// An identity event about `aggregate`.
    fn event(
        &self,
        ctx: &RequestContext,
        event_type: &str,
        aggregate: impl ToString,
        data: serde_json::Value,
    ) -> Event {
        let (clock, ids) = self.stamps();
        event(
            clock,
            ids,
            event_type,
            EVENT_SOURCE,
            ctx.tenant_id,
            aggregate.to_string(),
            data,
        )
    }

    /// Writes the audit entry and, when given, the event into the unit of work.
    async fn record(
        &self,
        tx: &mut Transaction,
        entry: &AuditEntry,
        event: Option<&Event>,
    ) -> Result<(), IdentityError> {
        let (audit, outbox) = self.stores();
        audit.append(tx, entry).await.map_err(store_error)?;
        if let Some(event) = event {
            outbox.enqueue(tx, IDENTITY_TOPIC, event).await.map_err(store_error)?;
        }
        Ok(())
    }

    /// Records, as `actor`, the permissions `role` gained
    /// (`permission.granted`, with an event) and lost (`permission.revoked`).
    async fn record_permission_changes(
        &self,
        ctx: &RequestContext,
        tx: &mut Transaction,
        actor: Option<UserId>,
        role: &Role,
        added: &[Permission],
        removed: &[Permission],
    ) -> Result<(), IdentityError> {
        if !added.is_empty() {
            let entry = self.entry_as(
                ctx,
                actor,
                actions::PERMISSION_GRANTED,
                role.id,
                meta! { "role" => role.name, "permissions" => added },
            );
            let event = self.event(
                ctx,
                events::PERMISSION_GRANTED,
                role.id,
                json!({ "role_id": role.id, "role": role.name, "permissions": added }),
            );
            self.record(tx, &entry, Some(&event)).await?;
        }
        if !removed.is_empty() {
            let entry = self.entry_as(
                ctx,
                actor,
                actions::PERMISSION_REVOKED,
                role.id,
                meta! { "role" => role.name, "permissions" => removed },
            );
            self.record(tx, &entry, None).await?;
        }
        Ok(())
    }

    /// Records, as `actor`, that `user_id` gained or lost `role`.
    async fn record_assignment(
        &self,
        ctx: &RequestContext,
        tx: &mut Transaction,
        actor: Option<UserId>,
        change: Assignment,
        user_id: UserId,
        role: &Role,
    ) -> Result<(), IdentityError> {
        let (action, event_type) = match change {
            Assignment::Assigned => (actions::ROLE_ASSIGNED, events::ROLE_ASSIGNED),
            Assignment::Revoked => (actions::ROLE_REVOKED, events::ROLE_REVOKED),
        };
        let entry = self.entry_as(
            ctx,
            actor,
            action,
            user_id,
            meta! { "role_id" => role.id, "role" => role.name },
        );
        let event = self.event(
            ctx,
            event_type,
            user_id,
            json!({ "user_id": user_id, "role_id": role.id, "role": role.name }),
        );
        self.record(tx, &entry, Some(&event)).await
    }
}
