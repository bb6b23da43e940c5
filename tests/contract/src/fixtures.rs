//! Builders for rows the checks store, and a helper to run a unit of work.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, DurationRound, TimeDelta, Utc};
use platform_ports::StoreError;
use platform_ports::audit::AuditEntry;
use platform_ports::auth::{RefreshTokenRecord, TokenHash, VerificationPurpose, VerificationToken};
use platform_ports::authz::Permission;
use platform_ports::blog::{Post, PostStatus};
use platform_ports::events::Event;
use platform_ports::identity::{PasswordHash, Role, User};
use platform_ports::model::{AuditId, Email, PostId, RefreshTokenId, RoleId, TenantId, TokenFamilyId, UserId};
use platform_ports::persistence::{Transaction, UnitOfWork};
use uuid::Uuid;

/// A tenant no other check uses.
pub fn tenant() -> TenantId {
    TenantId(Uuid::now_v7())
}

/// Now, truncated to microseconds: what a database column keeps.
pub fn now() -> DateTime<Utc> {
    Utc::now()
        .duration_trunc(TimeDelta::microseconds(1))
        .expect("now is representable")
}

/// A fixed instant `seconds` after an arbitrary epoch, for ordered rows.
pub fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + seconds, 0).expect("valid timestamp")
}

/// Runs `work` in a unit of work and commits it; rolls back when it fails.
pub async fn committed<T>(
    uow: &dyn UnitOfWork,
    work: impl AsyncFnOnce(&mut Transaction) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut tx = uow.begin().await?;
    match work(&mut tx).await {
        Ok(value) => {
            tx.commit().await?;
            Ok(value)
        }
        Err(err) => {
            tx.rollback().await?;
            Err(err)
        }
    }
}

/// A parsed email.
pub fn email(raw: &str) -> Email {
    Email::parse(raw).expect("valid email")
}

/// An unverified user of `tenant`.
pub fn user(tenant: TenantId, address: &str) -> User {
    let now = now();
    User {
        id: UserId::new(),
        tenant_id: tenant,
        email: email(address),
        display_name: None,
        password_hash: PasswordHash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()),
        email_verified: false,
        digest: false,
        created_at: now,
        updated_at: now,
    }
}

/// A role of `tenant` granting `permissions`.
pub fn role(tenant: TenantId, name: &str, permissions: &[&str]) -> Role {
    let now = now();
    Role {
        id: RoleId::new(),
        tenant_id: tenant,
        name: name.to_owned(),
        description: Some(format!("{name} role")),
        permissions: permissions
            .iter()
            .map(|p| Permission::parse(p).expect("valid permission"))
            .collect(),
        created_at: now,
        updated_at: now,
    }
}

/// A post of `tenant` by `author`, created at `created_at`.
pub fn post(tenant: TenantId, author: UserId, status: PostStatus, created_at: DateTime<Utc>) -> Post {
    Post {
        id: PostId::new(),
        tenant_id: tenant,
        author_id: author,
        title: format!("{status} post"),
        content: "Lorem ipsum".to_owned(),
        status,
        tags: Vec::new(),
        created_at,
        updated_at: created_at,
        published_at: (status == PostStatus::Published).then_some(created_at),
    }
}

/// An audit entry of `tenant` for `action`, at `occurred_at`.
pub fn audit_entry(tenant: TenantId, action: &str, occurred_at: DateTime<Utc>) -> AuditEntry {
    AuditEntry {
        id: AuditId::new(),
        tenant_id: tenant,
        actor_id: None,
        action: action.to_owned(),
        target_id: None,
        metadata: BTreeMap::from([("check".to_owned(), serde_json::json!(true))]),
        occurred_at,
        request_id: Some("req-1".to_owned()),
        ip: Some("127.0.0.1".to_owned()),
        user_agent: None,
    }
}

/// A unique token hash.
pub fn token_hash() -> TokenHash {
    TokenHash(Uuid::new_v4().simple().to_string())
}

/// A live refresh token of `user` in `family`, expiring in `ttl`.
pub fn refresh_token(user: UserId, tenant: TenantId, family: TokenFamilyId, ttl: Duration) -> RefreshTokenRecord {
    let now = now();
    RefreshTokenRecord {
        id: RefreshTokenId::new(),
        family_id: family,
        user_id: user,
        tenant_id: tenant,
        token_hash: token_hash(),
        created_at: now,
        expires_at: now + ttl,
        rotated_at: None,
        replaced_by: None,
        revoked_at: None,
    }
}

/// An unused verification token of `user` for `purpose`, expiring in `ttl`.
pub fn verification_token(
    user: UserId,
    tenant: TenantId,
    purpose: VerificationPurpose,
    ttl: Duration,
) -> VerificationToken {
    let now = now();
    VerificationToken {
        token_hash: token_hash(),
        purpose,
        user_id: user,
        tenant_id: tenant,
        created_at: now,
        expires_at: now + ttl,
        used_at: None,
    }
}

/// An event of `tenant` about `aggregate` (if any).
pub fn event(tenant: TenantId, event_type: &str, aggregate: Option<&str>) -> Event {
    let event = Event::new(
        event_type,
        "contract",
        tenant,
        serde_json::json!({ "type": event_type }),
    );
    match aggregate {
        Some(aggregate) => event.with_aggregate(aggregate),
        None => event,
    }
}
