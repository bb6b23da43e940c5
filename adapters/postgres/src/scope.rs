//! Row-level security: whose rows a transaction's statements may touch.
//!
//! Migration 0013 forces RLS on every tenant-scoped table with two policies:
//! `tenant_isolation` (the row's tenant is `app.tenant_id`) and
//! `named_bypass` (`app.bypass` is one of the reasons that table allows).
//! Both settings are transaction-local (`set_config(…, true)`), so nothing
//! leaks to the next user of a pooled connection; with neither set, a
//! statement sees no row and can write none. The tenant filter of every
//! query stays: RLS is the second wall, for the query that forgets it.

use platform_ports::model::TenantId;

/// What a transaction's statements may see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// One tenant's rows: every repository method that names a tenant.
    Tenant(TenantId),
    /// A named path that crosses tenants, on the tables its policy lists.
    Bypass(Bypass),
}

/// A path that legitimately crosses tenants. Each is allowed only on the
/// tables migration 0013 grants it; every use is counted
/// (`db.rls.bypasses`, labelled `reason`) and logged at debug level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bypass {
    /// Refresh-token, verification-token and API-key lookups by hash or id
    /// (the token names its tenant): `refresh_tokens`, `verification_tokens`, `api_keys`.
    TokenLookup,
    /// The outbox relay: claims, marks and purges every tenant's events: `outbox`.
    OutboxRelay,
    /// The batched audit writer: one statement appends entries of several
    /// tenants: `audit_log`, `audit_chain`.
    AuditWriter,
    /// A webhook delivery job finds its delivery by id: `webhook_deliveries`.
    WebhookDelivery,
    /// Maintenance jobs: expired-token purges (`refresh_tokens`,
    /// `verification_tokens`), the orphan-blob sweep (`files`), the list of
    /// chained tenants for `audit verify` (`audit_chain`).
    Maintenance,
    /// The weekly digest's list of tenants with an opted-in user (read
    /// only, tenant ids only; each tenant's recipients are then read in its
    /// own scope): `users`.
    Digest,
}

impl Bypass {
    /// The value of `app.bypass`, as the policies of migration 0013 name it.
    pub(crate) const fn reason(self) -> &'static str {
        match self {
            Self::TokenLookup => "token_lookup",
            Self::OutboxRelay => "outbox_relay",
            Self::AuditWriter => "audit_writer",
            Self::WebhookDelivery => "webhook_delivery",
            Self::Maintenance => "maintenance",
            Self::Digest => "digest",
        }
    }
}

/// Sets both settings inside an open transaction (a scope switch).
pub(crate) const SET_SCOPE: &str = "SELECT set_config('app.tenant_id', $1, true), set_config('app.bypass', $2, true)";

impl Scope {
    /// `(app.tenant_id, app.bypass)`: the one not in use is emptied.
    pub(crate) fn settings(self) -> (String, &'static str) {
        match self {
            Self::Tenant(tenant) => (tenant.0.to_string(), ""),
            Self::Bypass(bypass) => (String::new(), bypass.reason()),
        }
    }

    /// `BEGIN` and the setting in one simple-query round trip. Both values
    /// are ours (a UUID's hex and dashes, a fixed reason), never the
    /// caller's text, so inlining them cannot inject anything.
    pub(crate) fn begin_sql(self) -> String {
        match self {
            Self::Tenant(tenant) => {
                format!("BEGIN; SELECT set_config('app.tenant_id', '{}', true)", tenant.0)
            }
            Self::Bypass(bypass) => {
                format!("BEGIN; SELECT set_config('app.bypass', '{}', true)", bypass.reason())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn begin_sets_exactly_one_setting() {
        let tenant = TenantId(uuid::Uuid::nil());
        assert_eq!(
            Scope::Tenant(tenant).begin_sql(),
            "BEGIN; SELECT set_config('app.tenant_id', '00000000-0000-0000-0000-000000000000', true)"
        );
        assert_eq!(
            Scope::Bypass(Bypass::OutboxRelay).begin_sql(),
            "BEGIN; SELECT set_config('app.bypass', 'outbox_relay', true)"
        );
        assert_eq!(
            Scope::Bypass(Bypass::Maintenance).settings(),
            (String::new(), "maintenance")
        );
    }
}
