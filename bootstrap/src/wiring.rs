//! Settings → adapter parameters: the one place configuration meets adapters.

use anyhow::Context as _;
use platform_adapter_crypto::{
    Argon2Params, Argon2idHasherParameters, HasherSettings, HmacOpaqueTokensParameters, JwtAlgorithm,
    JwtCodecParameters, JwtKeys, JwtSettings, RefreshTokenKey,
};
use platform_adapter_localfs::{FileMailerParameters, FileMailerSettings, LocalBlobSettings, LocalBlobStoreParameters};
use platform_adapter_memory::{InProcessBusSettings, MemoryJobQueueSettings};
use platform_core::auth::{AuthServiceParameters, AuthSettings};
use platform_core::authz::{CachedPermissionResolverParameters, PermissionCacheSettings};
use platform_core::health::CompositeHealthRegistryParameters;
use platform_core::identity::{IdentitySettings, PermissionCatalog, RoleManagerParameters, UserManagerParameters};
use platform_core::ratelimit::{CacheRateLimiterParameters, RateLimitRule, RateLimitSettings};
use platform_ports::model::SecretString;

use crate::config::{self, Settings};

pub(crate) fn bus_settings(s: &Settings) -> InProcessBusSettings {
    InProcessBusSettings {
        queue_capacity: s.event_bus.queue_capacity,
        max_retries: s.event_bus.max_retries,
        initial_backoff: s.event_bus.initial_backoff,
        max_backoff: s.event_bus.max_backoff,
        drain_timeout: s.server.shutdown_timeout,
        ..InProcessBusSettings::default()
    }
}

pub(crate) fn job_settings(s: &Settings) -> MemoryJobQueueSettings {
    MemoryJobQueueSettings {
        concurrency: s.scheduler.concurrency,
        shutdown_timeout: s.server.shutdown_timeout,
        ..MemoryJobQueueSettings::default()
    }
}

pub(crate) fn blob_params(s: &Settings) -> LocalBlobStoreParameters {
    LocalBlobStoreParameters {
        settings: LocalBlobSettings {
            root: s.blob.local.root.clone(),
            public_base_url: s.blob.local.public_base_url.clone(),
            signing_key: s.blob.signing_key.clone(),
        },
    }
}

pub(crate) fn mail_params(s: &Settings) -> FileMailerParameters {
    FileMailerParameters {
        settings: FileMailerSettings {
            dir: s.mail.file.dir.clone(),
            from: s.mail.from.clone(),
        },
    }
}

pub(crate) fn health_params(s: &Settings) -> CompositeHealthRegistryParameters {
    CompositeHealthRegistryParameters {
        timeout: s.health.check_timeout,
    }
}

/// Every permission the platform and its feature modules declare.
pub(crate) fn catalog() -> anyhow::Result<PermissionCatalog> {
    Ok(PermissionCatalog::new(crate::features::registry()?.permissions()))
}

pub(crate) fn hasher_params(s: &Settings) -> Argon2idHasherParameters {
    let a = &s.auth.password.argon2;
    Argon2idHasherParameters {
        settings: HasherSettings {
            params: Argon2Params {
                memory_kib: a.memory_kib,
                iterations: a.iterations,
                parallelism: a.parallelism,
            },
            max_concurrent: s.auth.password.max_concurrent_hashes,
        },
    }
}

fn read_key_file(key: &str, path: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("{key}: cannot read `{path}`"))
}

pub(crate) fn jwt_params(s: &Settings) -> anyhow::Result<JwtCodecParameters> {
    let jwt = &s.auth.jwt;
    let algorithm = match jwt.algorithm {
        config::JwtAlgorithm::HS256 => JwtAlgorithm::Hs256 {
            secret: jwt.secret.clone(),
        },
        config::JwtAlgorithm::RS256 => JwtAlgorithm::Rs256 {
            private_pem: SecretString::new(read_key_file("auth.jwt.private_key_file", &jwt.private_key_file)?),
            public_pem: read_key_file("auth.jwt.public_key_file", &jwt.public_key_file)?,
        },
    };
    let keys = JwtKeys::new(&JwtSettings::new(
        algorithm,
        s.auth.issuer.clone(),
        s.auth.audience.clone(),
    ))
    .map_err(|e| anyhow::anyhow!("auth.jwt: {e}"))?;
    Ok(JwtCodecParameters { keys })
}

pub(crate) fn opaque_params(s: &Settings) -> anyhow::Result<HmacOpaqueTokensParameters> {
    let key =
        RefreshTokenKey::new(&s.auth.refresh_token_key).map_err(|e| anyhow::anyhow!("auth.refresh_token_key: {e}"))?;
    Ok(HmacOpaqueTokensParameters { key })
}

pub(crate) fn user_manager_params(s: &Settings, catalog: &PermissionCatalog) -> UserManagerParameters {
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

pub(crate) fn role_manager_params(catalog: &PermissionCatalog) -> RoleManagerParameters {
    RoleManagerParameters {
        catalog: catalog.clone(),
    }
}

pub(crate) fn auth_params(s: &Settings) -> AuthServiceParameters {
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

pub(crate) fn permission_cache_params(s: &Settings) -> CachedPermissionResolverParameters {
    CachedPermissionResolverParameters {
        settings: PermissionCacheSettings {
            enabled: s.cache.enabled,
            ttl: s.cache.ttl,
        },
    }
}

pub(crate) fn rate_limit_params(s: &Settings) -> CacheRateLimiterParameters {
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
            ]
            .into_iter()
            .collect(),
        },
    }
}
