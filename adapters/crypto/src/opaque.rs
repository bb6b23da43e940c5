//! [`HmacOpaqueTokens`]: random opaque tokens, their storage hashes, and the
//! keyed successor of a rotated refresh token.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit as _, Mac as _};
use platform_ports::auth::OpaqueTokens;
use platform_ports::auth::TokenHash;
use platform_ports::model::SecretString;
use sha2::{Digest as _, Sha256};

/// 256 bits: 43 characters of base64url.
const TOKEN_BYTES: usize = 32;
/// An HMAC-SHA256 key shorter than the hash output weakens it (RFC 2104 §3).
const MIN_KEY_BYTES: usize = 32;
/// Domain separation: the key serves more than one derivation.
const SUCCESSOR_CONTEXT: &[u8] = b"refresh-successor:";
const FALLBACK_CONTEXT: &[u8] = b"token-fallback:";

/// Why a refresh-token key was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RefreshKeyError {
    /// Fewer than 32 bytes.
    #[error("the refresh-token key needs at least {MIN_KEY_BYTES} bytes, it has {0}")]
    TooShort(usize),
    /// HMAC-SHA256 did not accept it (HMAC takes any length, so this is a library change).
    #[error("HMAC-SHA256 refused the refresh-token key")]
    Rejected,
}

/// The server's refresh-token key (at least 32 bytes), ready to key HMAC-SHA256.
#[derive(Clone)]
pub struct RefreshTokenKey {
    /// Keyed once; each use clones this state instead of re-deriving the key pads.
    mac: Hmac<Sha256>,
}

impl RefreshTokenKey {
    /// Checks the key's length.
    ///
    /// # Errors
    /// [`RefreshKeyError::TooShort`] under 32 bytes.
    pub fn new(key: &SecretString) -> Result<Self, RefreshKeyError> {
        let bytes = key.expose().as_bytes();
        if bytes.len() < MIN_KEY_BYTES {
            return Err(RefreshKeyError::TooShort(bytes.len()));
        }
        let mac = Hmac::<Sha256>::new_from_slice(bytes).map_err(|_| RefreshKeyError::Rejected)?;
        Ok(Self { mac })
    }

    /// HMAC-SHA256 over the concatenated parts.
    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for RefreshTokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshTokenKey([REDACTED])")
    }
}

/// [`OpaqueTokens`] from the OS's CSPRNG, hashed with SHA-256, with successors
/// keyed by HMAC-SHA256 under the server's refresh-token key.
///
/// Built with [`HmacOpaqueTokens::new`] or, in a shaku module, from the `key`
/// parameter (no default: bootstrap checks the configured key with
/// [`RefreshTokenKey::new`] and passes it).
#[derive(Debug, shaku::Component)]
#[shaku(interface = OpaqueTokens)]
pub struct HmacOpaqueTokens {
    /// Keys successors (and the fallback generator).
    key: RefreshTokenKey,
    /// Draws from the fallback generator, so no two fallback tokens repeat.
    #[shaku(force_default)]
    fallback_draws: AtomicU64,
}

impl HmacOpaqueTokens {
    /// Opaque tokens keyed by `key`.
    ///
    /// # Errors
    /// [`RefreshKeyError::TooShort`] under 32 bytes.
    pub fn new(key: SecretString) -> Result<Self, RefreshKeyError> {
        RefreshTokenKey::new(&key).map(Self::from_key)
    }

    /// Opaque tokens keyed by an already checked key.
    #[must_use]
    pub fn from_key(key: RefreshTokenKey) -> Self {
        Self {
            key,
            fallback_draws: AtomicU64::new(0),
        }
    }

    /// 32 bytes a PRF derives under the server key from a unique input: used
    /// only if the OS generator fails, because the port cannot report an
    /// error and a weak token must never be issued.
    fn fallback_bytes(&self) -> [u8; TOKEN_BYTES] {
        let draw = self.fallback_draws.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        self.key.mac(&[
            FALLBACK_CONTEXT,
            &std::process::id().to_be_bytes(),
            &draw.to_be_bytes(),
            &nanos.to_be_bytes(),
        ])
    }
}

impl OpaqueTokens for HmacOpaqueTokens {
    fn generate(&self) -> SecretString {
        let mut bytes = [0_u8; TOKEN_BYTES];
        if let Err(err) = getrandom::fill(&mut bytes) {
            tracing::error!(error = %err, "the OS random generator failed; using the keyed fallback");
            bytes = self.fallback_bytes();
        }
        SecretString::new(URL_SAFE_NO_PAD.encode(bytes))
    }

    fn hash(&self, token: &str) -> TokenHash {
        TokenHash(hex::encode(Sha256::digest(token.as_bytes())))
    }

    fn successor(&self, parent: &str) -> SecretString {
        let mac = self.key.mac(&[SUCCESSOR_CONTEXT, parent.as_bytes()]);
        SecretString::new(URL_SAFE_NO_PAD.encode(mac))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(key: &str) -> HmacOpaqueTokens {
        HmacOpaqueTokens::new(SecretString::new(key)).unwrap()
    }

    #[test]
    fn the_fallback_never_repeats() {
        let a = tokens("a-refresh-token-key-of-32-bytes!");
        let draws: std::collections::HashSet<_> = (0..1000).map(|_| a.fallback_bytes()).collect();
        assert_eq!(draws.len(), 1000);
    }

    #[test]
    fn the_key_never_prints() {
        let key = RefreshTokenKey::new(&SecretString::new("a-refresh-token-key-of-32-bytes!")).unwrap();
        assert_eq!(format!("{key:?}"), "RefreshTokenKey([REDACTED])");
        assert!(!format!("{:?}", HmacOpaqueTokens::from_key(key)).contains("a-refresh"));
    }
}
