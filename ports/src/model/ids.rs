use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered (v7) identifier.
            #[must_use]
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// The underlying UUID.
            #[must_use]
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<Uuid> for $name {
            fn from(value: Uuid) -> Self {
                Self(value)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }
    };
}

/// Lets other modules declare their ids the same way.
pub(crate) use uuid_id;

uuid_id!(
    /// Identifies a user.
    UserId
);
uuid_id!(
    /// Identifies a role.
    RoleId
);
uuid_id!(
    /// Identifies a blog post.
    PostId
);
uuid_id!(
    /// Identifies an audit entry.
    AuditId
);
uuid_id!(
    /// Identifies an event (consumers deduplicate on it).
    EventId
);
uuid_id!(
    /// Identifies a stored refresh token.
    RefreshTokenId
);
uuid_id!(
    /// Identifies a family of rotated refresh tokens (one login session).
    TokenFamilyId
);
uuid_id!(
    /// Identifies an API key.
    ApiKeyId
);
/// Job ids are asynq task ids (any non-blank text), defined with the jobs.
pub use crate::jobs::JobId;
uuid_id!(
    /// Identifies an outbox message.
    OutboxId
);
uuid_id!(
    /// Identifies a stored file (the files module's metadata row).
    FileId
);

/// Identifies a tenant. Every tenant-scoped row carries one.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TenantId(pub Uuid);

impl TenantId {
    /// The tenant used when a deployment is not multi-tenant (the nil UUID).
    pub const DEFAULT: TenantId = TenantId(Uuid::nil());
}

impl Default for TenantId {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl FromStr for TenantId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantId({})", self.0)
    }
}
