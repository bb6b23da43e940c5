use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{ApiKeyId, TenantId, TokenFamilyId, UserId};
use crate::authz::Permission;

/// Who is acting: the verified identity behind a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The user.
    pub user_id: UserId,
    /// Role names carried by the access token.
    pub roles: Vec<String>,
    /// The user's tenant.
    pub tenant_id: TenantId,
    /// The login session the access token belongs to.
    pub session_id: Option<TokenFamilyId>,
    /// Set when the caller authenticated with an API key: `user_id` is then
    /// the key's creator and the grant bounds what the call may do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<ApiKeyGrant>,
}

/// What an API key may do in this request: its scopes intersected with its
/// creator's permissions at the time of the request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyGrant {
    /// The key.
    pub key_id: ApiKeyId,
    /// The permissions the call holds, sorted.
    pub permissions: Vec<Permission>,
}

impl ApiKeyGrant {
    /// Whether the grant includes `permission`.
    #[must_use]
    pub fn allows(&self, permission: &Permission) -> bool {
        self.permissions.binary_search(permission).is_ok()
    }
}

/// Everything a use case needs to know about the call that reached it.
///
/// The HTTP adapter builds it from the verified token and headers; the CLI
/// and job workers build their own. Tenant scoping, audit attribution and
/// log fields all come from it.
#[derive(Clone, Debug, Default)]
pub struct RequestContext {
    /// The request id (from `x-request-id` or generated).
    pub request_id: Arc<str>,
    /// The W3C trace id, when the caller sent one.
    pub trace_id: Option<Arc<str>>,
    /// The authenticated actor, if any.
    pub actor: Option<Actor>,
    /// The tenant the call acts in: the actor's, or the one the call names.
    pub tenant_id: TenantId,
    /// The client's address.
    pub client_ip: Option<IpAddr>,
    /// The client's `User-Agent`.
    pub user_agent: Option<Arc<str>>,
}

impl RequestContext {
    /// A context for work the platform does on its own behalf (CLI, jobs).
    #[must_use]
    pub fn system(request_id: impl Into<Arc<str>>) -> Self {
        Self {
            request_id: request_id.into(),
            ..Self::default()
        }
    }

    /// The acting user's id, if authenticated (for an API key, its creator).
    #[must_use]
    pub fn user_id(&self) -> Option<UserId> {
        self.actor.as_ref().map(|a| a.user_id)
    }

    /// The API key grant when the caller authenticated with an API key.
    #[must_use]
    pub fn api_key(&self) -> Option<&ApiKeyGrant> {
        self.actor.as_ref().and_then(|a| a.api_key.as_ref())
    }
}
