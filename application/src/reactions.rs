//! Event subscribers: how the platform reacts to its own events.

use std::sync::Arc;

use async_trait::async_trait;
use platform_core::identity::events as identity_events;
use platform_ports::BoxError;
use platform_ports::authz::PermissionResolver;
use platform_ports::events::{Event, EventHandler};
use platform_ports::identity::ApiKeyService;
use platform_ports::model::{ApiKeyId, TenantId, UserId};

/// Drops a user's cached permissions when an identity event changes them.
///
/// The use case already invalidates right after its commit; this second,
/// at-least-once pass (through the outbox and the bus) covers a cache that
/// was unreachable at that moment and, on a shared bus, every other instance.
pub struct PermissionCacheInvalidation {
    permissions: Arc<dyn PermissionResolver>,
}

impl PermissionCacheInvalidation {
    /// A subscriber invalidating through `permissions`.
    pub fn new(permissions: Arc<dyn PermissionResolver>) -> Self {
        Self { permissions }
    }
}

/// The user whose permissions `event` changed, if any.
fn affected_user(event: &Event) -> Option<UserId> {
    let field = match event.event_type.as_str() {
        identity_events::ROLE_ASSIGNED | identity_events::ROLE_REVOKED => "user_id",
        identity_events::USER_DELETED => "id",
        _ => return None,
    };
    serde_json::from_value(event.data.get(field)?.clone()).ok()
}

#[async_trait]
impl EventHandler for PermissionCacheInvalidation {
    async fn handle(&self, event: &Event) -> Result<(), BoxError> {
        if let Some(user) = affected_user(event) {
            // Failing makes the bus retry: the cache may be back by then.
            self.permissions.invalidate(user).await?;
        }
        Ok(())
    }
}

/// Drops a revoked API key from the cache when its event arrives.
///
/// The revocation already deleted the entry after its commit; this
/// at-least-once pass covers a cache that was unreachable at that moment.
pub struct ApiKeyCacheInvalidation {
    keys: Arc<dyn ApiKeyService>,
}

impl ApiKeyCacheInvalidation {
    /// A subscriber forgetting keys through `keys`.
    pub fn new(keys: Arc<dyn ApiKeyService>) -> Self {
        Self { keys }
    }
}

#[async_trait]
impl EventHandler for ApiKeyCacheInvalidation {
    async fn handle(&self, event: &Event) -> Result<(), BoxError> {
        if event.event_type != identity_events::API_KEY_REVOKED {
            return Ok(());
        }
        let field = |name: &str| event.data.get(name).cloned().unwrap_or_default();
        let (Ok(id), Ok(tenant)) = (
            serde_json::from_value::<ApiKeyId>(field("id")),
            serde_json::from_value::<TenantId>(field("tenant_id")),
        ) else {
            tracing::warn!(event_id = %event.id, "API key revocation event without a key; ignored");
            return Ok(());
        };
        // Failing makes the bus retry: the cache may be back by then.
        self.keys.forget(tenant, id).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use platform_ports::authz::MockPermissionResolver;
    use platform_ports::model::TenantId;
    use serde_json::json;

    use super::*;

    fn event(event_type: &str, data: serde_json::Value) -> Event {
        Event::new(event_type, "identity", TenantId::DEFAULT, data)
    }

    #[tokio::test]
    async fn role_changes_and_deletions_invalidate_the_user() {
        let user = UserId::new();
        let mut resolver = MockPermissionResolver::new();
        resolver
            .expect_invalidate()
            .withf(move |u| *u == user)
            .times(3)
            .returning(|_| Ok(()));
        let handler = PermissionCacheInvalidation::new(Arc::new(resolver));
        for e in [
            event(
                identity_events::ROLE_ASSIGNED,
                json!({ "user_id": user, "role_id": UserId::new() }),
            ),
            event(identity_events::ROLE_REVOKED, json!({ "user_id": user })),
            event(identity_events::USER_DELETED, json!({ "id": user })),
        ] {
            handler.handle(&e).await.unwrap();
        }
    }

    #[tokio::test]
    async fn other_events_change_nothing() {
        let mut resolver = MockPermissionResolver::new();
        resolver.expect_invalidate().never();
        let handler = PermissionCacheInvalidation::new(Arc::new(resolver));
        handler
            .handle(&event(identity_events::USER_UPDATED, json!({ "id": UserId::new() })))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_revoked_key_is_forgotten() {
        let id = ApiKeyId::new();
        let mut keys = platform_ports::identity::MockApiKeyService::new();
        keys.expect_forget()
            .withf(move |tenant, key| *tenant == TenantId::DEFAULT && *key == id)
            .times(1)
            .returning(|_, _| Ok(()));
        let handler = ApiKeyCacheInvalidation::new(Arc::new(keys));
        let e = event(
            identity_events::API_KEY_REVOKED,
            json!({ "id": id, "tenant_id": TenantId::DEFAULT }),
        );
        handler.handle(&e).await.unwrap();
        handler
            .handle(&event(
                identity_events::ROLE_REVOKED,
                json!({ "user_id": UserId::new() }),
            ))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_failed_invalidation_is_retried_by_the_bus() {
        let mut resolver = MockPermissionResolver::new();
        resolver
            .expect_invalidate()
            .returning(|_| Err(platform_ports::authz::AuthzError::Backend("cache down".into())));
        let handler = PermissionCacheInvalidation::new(Arc::new(resolver));
        let e = event(identity_events::ROLE_REVOKED, json!({ "user_id": UserId::new() }));
        assert!(handler.handle(&e).await.is_err());
    }
}
