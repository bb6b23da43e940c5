//! Runs the whole persistence contract against PostgreSQL, each check in a
//! schema of its own that is dropped afterwards.

mod support;

use std::sync::Arc;

use platform_adapter_postgres::{
    PgApiKeyRepository, PgAuditStore, PgDatabase, PgOutbox, PgPostRepository, PgRefreshTokenStore, PgRoleRepository,
    PgUnitOfWork, PgUserRepository, PgVerificationTokenStore,
};
use platform_contract as contract;
use platform_contract::Ports;

/// Every port over one database.
fn postgres(db: &PgDatabase) -> Ports {
    Ports {
        uow: Arc::new(PgUnitOfWork::new(db.clone())),
        users: Arc::new(PgUserRepository::new(db.clone())),
        roles: Arc::new(PgRoleRepository::new(db.clone())),
        refresh: Arc::new(PgRefreshTokenStore::new(db.clone())),
        verification: Arc::new(PgVerificationTokenStore::new(db.clone())),
        audit: Arc::new(PgAuditStore::new(db.clone())),
        posts: Arc::new(PgPostRepository::new(db.clone())),
        outbox: Arc::new(PgOutbox::new(db.clone())),
        api_keys: Arc::new(PgApiKeyRepository::new(db.clone())),
    }
}

/// One test per check, each on a fresh schema, handed the ports it names.
macro_rules! contract_tests {
    ($($module:ident :: $check:ident($($port:ident),+);)+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let Some(schema) = support::TestSchema::create().await else {
                    return;
                };
                let ports = postgres(&schema.db);
                contract::$module::$check($(ports.$port.clone()),+).await;
            }
        )+
    };
}

contract_tests! {
    uow::commit_makes_writes_visible(users, uow);
    uow::rollback_and_drop_discard_writes(users, audit, outbox, uow);
    uow::tx_sees_own_writes(refresh, uow);
    uow::concurrent_rotations_serialise(refresh, uow);

    users::user_crud_round_trip(users, uow);
    users::email_unique_per_tenant(users, uow);
    users::users_isolated_by_tenant(users, uow);
    users::users_pages_walk_every_user_once(users, uow);
    users::users_list_filters(users, roles, uow);

    roles::role_crud_and_unique_names(roles, uow);
    roles::role_assignments(users, roles, uow);
    roles::roles_isolated_by_tenant(users, roles, uow);

    refresh_tokens::refresh_token_rotation(refresh, uow);
    refresh_tokens::refresh_token_revoke_family(refresh, uow);
    refresh_tokens::refresh_token_revoke_user(refresh, uow);
    refresh_tokens::refresh_tokens_delete_expired(refresh, uow);
    verification_tokens::verification_token_single_use(verification, uow);
    verification_tokens::verification_token_expiry(verification, uow);
    verification_tokens::verification_invalidate_user(verification, uow);

    audit::audit_appends(audit, uow);
    audit::audit_batch_is_all_or_nothing(audit);
    audit::audit_query_filters(audit);
    audit::audit_pages_walk_every_entry_once(audit);
    audit::audit_isolated_by_tenant(audit, uow);
    audit_chain::audit_chain_links_in_commit_order(audit, uow);
    audit_chain::audit_chain_skips_nothing_on_failure(audit, uow);
    audit_chain::audit_chain_is_linear_under_concurrent_appenders(audit, uow);
    audit_chain::audit_checkpoints_keep_the_latest(audit);

    text::accepted_text_round_trips(users, roles, posts, uow);
    text::refused_text_is_never_a_backend_failure(users, posts, audit, uow);

    posts::post_crud(posts, uow);
    posts::posts_isolated_by_tenant(posts, uow);
    posts::posts_filters_and_draft_visibility(posts, uow);
    posts::posts_pages_walk_every_post_once(posts, uow);

    digest::digest_recipients_and_their_periods(users, uow);
    digest::posts_published_in_a_window(posts, uow);

    outbox::outbox_commit_order(outbox, uow);
    outbox::outbox_claim_leases(outbox, uow);
    outbox::outbox_mark_failed_retries_later(outbox, uow);
    outbox::outbox_keeps_aggregate_order(outbox, uow);

    api_keys::api_key_round_trip(api_keys, uow);
    api_keys::api_keys_listed_per_tenant(api_keys, uow);
    api_keys::api_key_revocation(api_keys, uow);
    api_keys::api_key_touch_is_throttled(api_keys, uow);
}

/// The webhook repository's contract (its port is not in [`Ports`]).
mod webhook_contract {
    use std::sync::Arc;

    use platform_adapter_postgres::{PgUnitOfWork, PgWebhookRepository};
    use platform_contract::webhooks;

    use super::support;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn webhook_subscriptions() {
        let Some(schema) = support::TestSchema::create().await else {
            return;
        };
        let uow = Arc::new(PgUnitOfWork::new(schema.db.clone()));
        webhooks::webhook_subscriptions(Arc::new(PgWebhookRepository::new(schema.db.clone())), uow).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn webhook_deliveries() {
        let Some(schema) = support::TestSchema::create().await else {
            return;
        };
        let uow = Arc::new(PgUnitOfWork::new(schema.db.clone()));
        webhooks::webhook_deliveries(Arc::new(PgWebhookRepository::new(schema.db.clone())), uow).await;
    }
}
