//! The manifests of the platform's modules: identity (with authorization),
//! audit, and the Blog example feature.

use platform_core::blog;
use platform_core::identity::events as identity_events;
use platform_core::permissions;
use platform_core::support::IDENTITY_TOPIC;

use crate::modules::FeatureModule;

/// Users, roles, permissions and sessions.
pub const IDENTITY: FeatureModule = FeatureModule {
    name: "identity",
    permissions: permissions::ALL,
    topic: Some(IDENTITY_TOPIC),
    publishes: &[
        identity_events::USER_CREATED,
        identity_events::USER_UPDATED,
        identity_events::USER_DELETED,
        identity_events::ROLE_ASSIGNED,
        identity_events::ROLE_REVOKED,
        identity_events::PERMISSION_GRANTED,
    ],
    handles: &[],
    jobs: &["notify:email"],
    migrations: &[
        "0001_identity.sql",
        "0002_tokens.sql",
        "0003_audit.sql",
        "0005_outbox.sql",
    ],
    routes: &[
        "/api/v1/auth",
        "/api/v1/users",
        "/api/v1/roles",
        "/api/v1/permissions",
        "/api/v1/audit",
    ],
};

/// The example feature: blog posts with a publishing workflow.
pub const BLOG: FeatureModule = FeatureModule {
    name: "blog",
    permissions: blog::permissions::ALL,
    topic: Some(blog::BLOG_TOPIC),
    publishes: &[
        blog::events::POST_CREATED,
        blog::events::POST_UPDATED,
        blog::events::POST_PUBLISHED,
        blog::events::POST_DELETED,
    ],
    handles: &[],
    jobs: &[],
    migrations: &["0004_blog.sql"],
    routes: &["/api/v1/blog/posts"],
};
