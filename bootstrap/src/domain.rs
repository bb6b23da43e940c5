//! The domain's settings: parameters of core's shaku components, from the
//! typed configuration. Adapters are built in `compose`, not here.

use platform_core::apikeys::{ApiKeyManager, ApiKeyManagerParameters, ApiKeySettings};
use platform_core::audit::HmacCheckpointSigner;
use platform_core::auth::{AuthService, AuthServiceParameters, AuthSettings};
use platform_core::authz::{CachedPermissionResolver, CachedPermissionResolverParameters, PermissionCacheSettings};
use platform_core::files::{FilesManager, FilesManagerParameters, FilesSettings};
use platform_core::health::{CompositeHealthRegistry, CompositeHealthRegistryParameters};
use platform_core::identity::{
    IdentitySettings, PermissionCatalog, RoleManager, RoleManagerParameters, UserManager, UserManagerParameters,
};
use platform_core::notify::digest::{DigestManager, DigestSettings};
use platform_core::ratelimit::{CacheRateLimiter, CacheRateLimiterParameters, RateLimitRule, RateLimitSettings};
use shaku::ModuleBuilder;

use crate::config::{self, Settings};
use crate::container::PlatformModule;

/// Sets every domain component's parameters.
///
/// # Errors
/// When the feature modules do not fit together (the permission catalog).
pub(crate) fn configure(
    builder: ModuleBuilder<PlatformModule>,
    s: &Settings,
) -> anyhow::Result<ModuleBuilder<PlatformModule>> {
    let catalog = catalog()?;
    Ok(builder
        .with_component_parameters::<CompositeHealthRegistry>(health_params(s))
        .with_component_parameters::<UserManager>(user_manager_params(s, &catalog))
        .with_component_parameters::<RoleManager>(role_manager_params(&catalog))
        .with_component_parameters::<AuthService>(auth_params(s))
        .with_component_parameters::<CachedPermissionResolver>(permission_cache_params(s))
        .with_component_parameters::<CacheRateLimiter>(rate_limit_params(s))
        .with_component_parameters::<ApiKeyManager>(api_key_params(s))
        .with_component_parameters::<FilesManager>(files_params(s))
        .with_component_parameters::<HmacCheckpointSigner>(checkpoint_params(s))
        .with_component_parameters::<DigestManager>(digest_params(s)?))
}

fn digest_params(s: &Settings) -> anyhow::Result<platform_core::notify::digest::DigestManagerParameters> {
    let d = &s.digest;
    DigestManager::parameters(DigestSettings {
        enabled: d.enabled,
        schedule: d.schedule.clone(),
        max_posts: d.max_posts,
        public_url: s.server.public_url.clone(),
        post_path: d.post_path.clone(),
        settings_path: d.settings_path.clone(),
    })
    .map_err(|e| anyhow::anyhow!("digest.schedule: {e}"))
}

fn checkpoint_params(s: &Settings) -> platform_core::audit::HmacCheckpointSignerParameters {
    let key = s.audit.checkpoint_key.clone();
    if key.expose().is_empty() {
        tracing::warn!(
            "audit.checkpoint_key is empty: no audit checkpoints are signed, so a removed tail of the audit log goes unnoticed"
        );
    }
    HmacCheckpointSigner::parameters(Some(key))
}

fn health_params(s: &Settings) -> CompositeHealthRegistryParameters {
    CompositeHealthRegistryParameters {
        timeout: s.health.check_timeout,
    }
}

/// Every permission the platform and its feature modules declare.
fn catalog() -> anyhow::Result<PermissionCatalog> {
    Ok(PermissionCatalog::new(crate::features::registry()?.permissions()))
}

fn user_manager_params(s: &Settings, catalog: &PermissionCatalog) -> UserManagerParameters {
    UserManagerParameters {
        settings: IdentitySettings {
            password_min_length: s.auth.password.min_length,
            email_verification_ttl: s.auth.email_verification_ttl,
            password_reset_ttl: s.auth.password_reset_ttl,
            public_url: s.server.public_url.clone(),
            require_verified_email: s.auth.require_verified_email,
        },
        catalog: catalog.clone(),
    }
}

fn role_manager_params(catalog: &PermissionCatalog) -> RoleManagerParameters {
    RoleManagerParameters {
        catalog: catalog.clone(),
    }
}

fn auth_params(s: &Settings) -> AuthServiceParameters {
    let a = &s.auth;
    AuthServiceParameters {
        settings: AuthSettings {
            issuer: a.issuer.clone(),
            audience: a.audience.clone(),
            access_token_ttl: a.access_token_ttl,
            refresh_token_ttl: a.refresh_token_ttl,
            refresh_reuse_grace: a.refresh_reuse_grace,
            require_verified_email: a.require_verified_email,
            claims_cache_capacity: 10_000,
        },
    }
}

fn permission_cache_params(s: &Settings) -> CachedPermissionResolverParameters {
    CachedPermissionResolverParameters {
        settings: PermissionCacheSettings {
            enabled: s.cache.enabled,
            ttl: s.cache.ttl,
        },
    }
}

fn api_key_params(s: &Settings) -> ApiKeyManagerParameters {
    ApiKeyManagerParameters {
        settings: ApiKeySettings {
            // Revocation deletes the entry at once; the TTL only bounds how
            // long a key survives a deletion the cache missed.
            cache_ttl: s.cache.ttl,
            touch_interval: std::time::Duration::from_secs(60),
        },
    }
}

fn files_params(s: &Settings) -> FilesManagerParameters {
    FilesManagerParameters {
        settings: FilesSettings {
            max_upload_bytes: s.blob.max_upload_bytes,
            allowed_content_types: s.blob.allowed_content_types.clone(),
            signed_url_ttl: s.blob.signed_url_ttl,
        },
    }
}

fn rate_limit_params(s: &Settings) -> CacheRateLimiterParameters {
    let r = &s.rate_limit;
    let rule = |c: &config::RateLimitRuleConfig| RateLimitRule {
        per_ip: c.per_ip,
        per_account: c.per_account,
        window: c.window,
    };
    CacheRateLimiterParameters {
        settings: RateLimitSettings {
            enabled: r.enabled,
            rules: [
                ("login", rule(&r.login)),
                ("refresh", rule(&r.refresh)),
                ("register", rule(&r.register)),
                ("password_reset", rule(&r.password_reset)),
                ("api_key", rule(&r.api_key)),
            ]
            .into_iter()
            .collect(),
        },
    }
}
