//! Password hashing and tokens (`auth.password.*`, `auth.jwt.*`,
//! `auth.refresh_token_key`).

use anyhow::Context as _;
use platform_adapter_crypto::{
    Argon2Params, Argon2idHasher, HasherSettings, HmacOpaqueTokens, JwtAlgorithm, JwtCodec, JwtSettings,
};
use platform_ports::auth::{OpaqueTokens, TokenCodec};
use platform_ports::identity::PasswordHasher;
use platform_ports::model::SecretString;

use std::sync::Arc;

use super::{Built, Parts, label_of, serve};
use crate::config::{self, Settings};
use crate::rotation::RotatingTokenCodec;

/// The security ports.
pub struct SecurityPorts {
    /// argon2id on a bounded blocking pool.
    pub hasher: Box<dyn PasswordHasher>,
    /// Access tokens.
    pub codec: Box<dyn TokenCodec>,
    /// Refresh, verification and reset tokens.
    pub opaque: Box<dyn OpaqueTokens>,
}

/// Builds the hasher and the token codecs from their keys.
///
/// # Errors
/// When a key cannot be read or is refused; the message names its key.
pub fn build(settings: &Settings) -> anyhow::Result<Built<SecurityPorts>> {
    let mut parts = Parts::default();
    let auth = &settings.auth;
    let a = &auth.password.argon2;
    let hasher = serve!(
        parts,
        PasswordHasher,
        Argon2idHasher::new(HasherSettings {
            params: Argon2Params {
                memory_kib: a.memory_kib,
                iterations: a.iterations,
                parallelism: a.parallelism,
            },
            max_concurrent: auth.password.max_concurrent_hashes,
        })
    );
    let jwt = &auth.jwt;
    let algorithm = match jwt.algorithm {
        config::JwtAlgorithm::HS256 => JwtAlgorithm::Hs256 {
            secret: jwt.secret.clone(),
        },
        config::JwtAlgorithm::RS256 => JwtAlgorithm::Rs256 {
            private_pem: SecretString::new(read_key_file("auth.jwt.private_key_file", &jwt.private_key_file)?),
            public_pem: read_key_file("auth.jwt.public_key_file", &jwt.public_key_file)?,
        },
    };
    let codec = JwtCodec::new(JwtSettings::new(algorithm, auth.issuer.clone(), auth.audience.clone()))
        .map_err(|e| anyhow::anyhow!("auth.jwt: {e}"))?;
    let label = label_of(&codec);
    // Tokens signed before a rotation keep verifying for one access-token lifetime.
    let rotating = RotatingTokenCodec::new(Arc::new(codec), auth.access_token_ttl);
    if jwt.algorithm == config::JwtAlgorithm::HS256 {
        let (keys, issuer, audience) = (rotating.clone(), auth.issuer.clone(), auth.audience.clone());
        parts.rotation(
            "auth.jwt.secret",
            Arc::new(move |secret| {
                let algorithm = JwtAlgorithm::Hs256 { secret: secret.clone() };
                let next = JwtCodec::new(JwtSettings::new(algorithm, issuer.clone(), audience.clone()))
                    .map_err(|e| anyhow::anyhow!("auth.jwt.secret: {e}"))?;
                keys.rotate(Arc::new(next));
                Ok(())
            }),
        );
    }
    let codec = serve!(parts, TokenCodec, rotating, label);
    let opaque = HmacOpaqueTokens::new(auth.refresh_token_key.clone())
        .map_err(|e| anyhow::anyhow!("auth.refresh_token_key: {e}"))?;
    let opaque = serve!(parts, OpaqueTokens, opaque);
    Ok(Built {
        ports: SecurityPorts { hasher, codec, opaque },
        parts,
    })
}

fn read_key_file(key: &str, path: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("{key}: cannot read `{path}`"))
}
