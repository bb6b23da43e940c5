//! [`JwtCodec`]: access tokens as JWTs signed with HS256 or RS256.

mod keys;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use jsonwebtoken::errors::{Error as JwtError, ErrorKind};
use platform_ports::auth::AccessClaims;
use platform_ports::auth::{TokenCodec, TokenError};
use platform_ports::model::SecretString;

pub use keys::JwtKeys;

/// Which algorithm signs access tokens, with its key material.
#[derive(Clone, Debug)]
pub enum JwtAlgorithm {
    /// HMAC-SHA256 with a shared secret of at least 32 bytes.
    Hs256 {
        /// The shared secret.
        secret: SecretString,
    },
    /// RSASSA-PKCS1-v1_5 with SHA-256; others verify with the public key, published as JWKS.
    Rs256 {
        /// Private key PEM text (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`).
        private_pem: SecretString,
        /// Public key PEM text (SPKI `PUBLIC KEY` or PKCS#1 `RSA PUBLIC KEY`).
        public_pem: String,
    },
}

/// How [`JwtCodec`] signs and what it accepts.
#[derive(Clone, Debug)]
pub struct JwtSettings {
    /// Algorithm and keys; tokens with any other `alg` are refused.
    pub algorithm: JwtAlgorithm,
    /// The exact `iss` required.
    pub issuer: String,
    /// The exact `aud` required.
    pub audience: String,
    /// Clock skew tolerated on `exp`, in seconds.
    pub leeway_secs: u64,
}

impl JwtSettings {
    /// Settings with no clock-skew leeway.
    pub fn new(algorithm: JwtAlgorithm, issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            algorithm,
            issuer: issuer.into(),
            audience: audience.into(),
            leeway_secs: 0,
        }
    }
}

/// A [`TokenCodec`] for JWT access tokens (HS256 or RS256, one at a time).
///
/// Reading keys can fail, so the shaku parameter `keys` has no default:
/// bootstrap builds the codec with [`JwtCodec::new`] and hands it over with
/// `with_component_override::<dyn TokenCodec>` (or passes
/// [`JwtKeys::new`]'s result as `JwtCodecParameters { keys }`).
#[derive(Debug, shaku::Component)]
#[shaku(interface = TokenCodec)]
pub struct JwtCodec {
    /// Keys, header and validation rules, prepared once.
    keys: JwtKeys,
}

impl JwtCodec {
    /// A codec for these settings.
    ///
    /// # Errors
    /// [`TokenError::Signing`] naming the key problem (see [`JwtKeys::new`]).
    pub fn new(settings: JwtSettings) -> Result<Self, TokenError> {
        JwtKeys::new(&settings).map(Self::from_keys)
    }

    /// A codec over keys already prepared.
    #[must_use]
    pub fn from_keys(keys: JwtKeys) -> Self {
        Self { keys }
    }

    /// Why jsonwebtoken refused `token`, in the port's terms.
    fn refusal(&self, token: &str, err: &JwtError) -> TokenError {
        match err.kind() {
            ErrorKind::ExpiredSignature => TokenError::Expired,
            ErrorKind::InvalidSignature => TokenError::BadSignature,
            ErrorKind::InvalidAlgorithm
            | ErrorKind::InvalidAlgorithmName
            | ErrorKind::UnsupportedAlgorithm
            | ErrorKind::MissingAlgorithm => TokenError::AlgorithmNotAllowed,
            ErrorKind::InvalidIssuer => invalid_claims("wrong issuer"),
            ErrorKind::InvalidAudience => invalid_claims("wrong audience"),
            ErrorKind::InvalidSubject => invalid_claims("wrong subject"),
            ErrorKind::ImmatureSignature => invalid_claims("not valid yet"),
            ErrorKind::MissingRequiredClaim(claim) => invalid_claims(&format!("missing claim `{claim}`")),
            ErrorKind::InvalidClaimFormat(claim) => invalid_claims(&format!("malformed claim `{claim}`")),
            // jsonwebtoken cannot even parse a header naming an algorithm it
            // does not know (`none`), so look at the header ourselves.
            _ if self.names_another_algorithm(token) => TokenError::AlgorithmNotAllowed,
            ErrorKind::InvalidToken | ErrorKind::Base64(_) | ErrorKind::Json(_) | ErrorKind::Utf8(_) => {
                TokenError::Malformed
            }
            // Key errors: `JwtKeys::new` parsed the keys, so this is not the token's fault.
            _ => {
                tracing::error!(error = %err, "JWT verification failed on the server's key");
                TokenError::BadSignature
            }
        }
    }

    /// Whether the token's header names an `alg` other than the configured one.
    fn names_another_algorithm(&self, token: &str) -> bool {
        header_alg(token).is_some_and(|alg| alg.parse::<Algorithm>().ok() != Some(self.keys.algorithm))
    }
}

impl TokenCodec for JwtCodec {
    fn encode(&self, claims: &AccessClaims) -> Result<String, TokenError> {
        jsonwebtoken::encode(&self.keys.header, claims, &self.keys.encoding)
            .map_err(|e| TokenError::Signing(e.to_string()))
    }

    fn decode(&self, token: &str) -> Result<AccessClaims, TokenError> {
        // Decoded to JSON first so a verified token lacking a claim (`iat`,
        // `tenant_id`...) reads as invalid claims, not as a malformed token.
        let data = jsonwebtoken::decode::<serde_json::Value>(token, &self.keys.decoding, &self.keys.validation)
            .map_err(|e| self.refusal(token, &e))?;
        serde_json::from_value(data.claims).map_err(|e| TokenError::InvalidClaims(e.to_string()))
    }

    fn jwks(&self) -> Option<serde_json::Value> {
        self.keys.jwks.clone()
    }
}

/// The `alg` of a token's header, read without trusting anything else.
fn header_alg(token: &str) -> Option<String> {
    let header = token.split('.').next()?;
    let json = URL_SAFE_NO_PAD.decode(header).ok()?;
    let header: serde_json::Value = serde_json::from_slice(&json).ok()?;
    header.get("alg")?.as_str().map(str::to_owned)
}

fn invalid_claims(why: &str) -> TokenError {
    TokenError::InvalidClaims(why.to_owned())
}
