//! Role-based access control on top of a [`PermissionResolver`].

use std::sync::Arc;

use async_trait::async_trait;
use platform_ports::authz::Permission;
use platform_ports::authz::{Authorizer, AuthzError, PermissionResolver};
use platform_ports::model::RequestContext;

/// Allows a call when the context's actor holds the permission through one of its roles.
#[derive(shaku::Component)]
#[shaku(interface = Authorizer)]
pub struct RbacAuthorizer {
    #[shaku(inject)]
    resolver: Arc<dyn PermissionResolver>,
}

impl RbacAuthorizer {
    /// An authorizer asking `resolver`.
    #[must_use]
    pub fn new(resolver: Arc<dyn PermissionResolver>) -> Self {
        Self { resolver }
    }
}

#[async_trait]
impl Authorizer for RbacAuthorizer {
    async fn authorize(&self, ctx: &RequestContext, permission: &Permission) -> Result<(), AuthzError> {
        let actor = ctx.actor.as_ref().ok_or(AuthzError::Unauthenticated)?;
        // An API key's grant was resolved when it authenticated (its scopes
        // that its creator still holds): it is the whole answer, never the
        // creator's wider permissions.
        if let Some(grant) = &actor.api_key {
            return if grant.allows(permission) {
                Ok(())
            } else {
                Err(AuthzError::Forbidden(permission.clone()))
            };
        }
        if self
            .resolver
            .has_permission(actor.tenant_id, actor.user_id, permission)
            .await?
        {
            Ok(())
        } else {
            Err(AuthzError::Forbidden(permission.clone()))
        }
    }
}
