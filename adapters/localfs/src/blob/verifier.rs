//! Checking the signed URLs [`super::LocalBlobStore`] issues, for the HTTP
//! adapter's `GET|PUT {SIGNED_URL_PATH}/{*key}` route.

use chrono::{DateTime, Utc};
use platform_ports::blob::{BlobKey, SignedAccess, SignedUrlError, SignedUrlVerifier};

use super::{LocalBlobSettings, signing};

/// The [`SignedUrlVerifier`] of the local store, as a component of its own (the
/// HTTP adapter needs it without the store). Built from the same settings.
#[derive(shaku::Component)]
#[shaku(interface = SignedUrlVerifier)]
pub struct LocalSignedUrlVerifier {
    /// The store's settings (only the signing key is used).
    settings: LocalBlobSettings,
}

impl LocalSignedUrlVerifier {
    /// A verifier for URLs signed with `settings.signing_key`.
    #[must_use]
    pub fn new(settings: LocalBlobSettings) -> Self {
        Self { settings }
    }
}

/// Checks key, then signature (in constant time), then expiry.
impl SignedUrlVerifier for LocalSignedUrlVerifier {
    fn verify(
        &self,
        key: &str,
        access: SignedAccess,
        expires: &str,
        signature: &str,
        now: DateTime<Utc>,
    ) -> Result<BlobKey, SignedUrlError> {
        let secret = self.settings.signing_key.expose().as_bytes();
        if secret.is_empty() {
            return Err(SignedUrlError::Unavailable);
        }
        let key = BlobKey::parse(key).map_err(SignedUrlError::InvalidKey)?;
        let expires: i64 = expires.parse().map_err(|_| SignedUrlError::Malformed("expires"))?;
        if signature.is_empty() {
            return Err(SignedUrlError::Malformed("signature"));
        }
        if !signing::verify(secret, key.as_str(), access, expires, signature) {
            return Err(SignedUrlError::BadSignature);
        }
        if now.timestamp() >= expires {
            return Err(SignedUrlError::Expired);
        }
        Ok(key)
    }
}
