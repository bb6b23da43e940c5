//! [`JwtKeys`]: everything a JWT codec derives from its settings, prepared once.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, RSAKeyParameters};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use platform_ports::auth::TokenError;
use platform_ports::model::SecretString;
use sha2::{Digest as _, Sha256};

use super::{JwtAlgorithm, JwtSettings};

/// RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
const MIN_HMAC_SECRET_BYTES: usize = 32;
/// Below this an RSA key is considered breakable (NIST SP 800-57).
const MIN_RSA_BITS: usize = 2048;

/// The signing and verifying keys with the header and validation rules that
/// go with them: built once by [`JwtKeys::new`], used on every request.
#[derive(Debug)]
pub struct JwtKeys {
    pub(super) algorithm: Algorithm,
    pub(super) header: Header,
    pub(super) encoding: EncodingKey,
    pub(super) decoding: DecodingKey,
    pub(super) validation: Validation,
    pub(super) jwks: Option<serde_json::Value>,
}

impl JwtKeys {
    /// Reads and checks the keys.
    ///
    /// # Errors
    /// [`TokenError::Signing`] naming the problem: an HS256 secret shorter
    /// than 32 bytes; an RS256 PEM that is not an RSA key of the expected
    /// kind, a key under 2048 bits, or a public key that does not belong to
    /// the private key.
    pub fn new(settings: &JwtSettings) -> Result<Self, TokenError> {
        let (algorithm, encoding, decoding, kid, jwks) = match &settings.algorithm {
            JwtAlgorithm::Hs256 { secret } => {
                let (encoding, decoding) = hmac_keys(secret)?;
                (Algorithm::HS256, encoding, decoding, None, None)
            }
            JwtAlgorithm::Rs256 {
                private_pem,
                public_pem,
            } => {
                let rsa = RsaKeys::new(private_pem, public_pem)?;
                let jwks = rsa.jwks();
                (Algorithm::RS256, rsa.encoding, rsa.decoding, Some(rsa.kid), Some(jwks))
            }
        };
        let mut header = Header::new(algorithm);
        header.kid = kid;
        Ok(Self {
            algorithm,
            header,
            encoding,
            decoding,
            validation: validation(algorithm, settings),
            jwks,
        })
    }
}

/// Only the configured algorithm; `exp`, `iss`, `aud` and `sub` required
/// (`iat` is required by the claims type); `nbf` not required, but honoured
/// when present (RFC 7519 §4.1.5).
fn validation(algorithm: Algorithm, settings: &JwtSettings) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.set_issuer(&[&settings.issuer]);
    validation.set_audience(&[&settings.audience]);
    validation.leeway = settings.leeway_secs;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = true;
    validation
}

fn hmac_keys(secret: &SecretString) -> Result<(EncodingKey, DecodingKey), TokenError> {
    let bytes = secret.expose().as_bytes();
    if bytes.len() < MIN_HMAC_SECRET_BYTES {
        return Err(signing(format!(
            "the HS256 secret needs at least {MIN_HMAC_SECRET_BYTES} bytes, it has {}",
            bytes.len()
        )));
    }
    Ok((EncodingKey::from_secret(bytes), DecodingKey::from_secret(bytes)))
}

/// An RS256 key pair, checked to belong together.
struct RsaKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    public: RSAKeyParameters,
    kid: String,
}

impl RsaKeys {
    fn new(private_pem: &SecretString, public_pem: &str) -> Result<Self, TokenError> {
        let encoding = EncodingKey::from_rsa_pem(private_pem.expose().as_bytes())
            .map_err(|e| signing(format!("RS256 private key: not an RSA PEM ({e})")))?;
        let decoding = DecodingKey::from_rsa_pem(public_pem.as_bytes())
            .map_err(|e| signing(format!("RS256 public key: not an RSA PEM ({e})")))?;
        // jsonwebtoken parses RSA keys only when signing; parse both now so a
        // bad key stops start-up instead of failing every login.
        let private = Jwk::from_encoding_key(&encoding, Algorithm::RS256)
            .map_err(|e| signing(format!("RS256 private key: unreadable ({e})")))?;
        let public = Jwk::from_decoding_key(&decoding, Some(Algorithm::RS256))
            .map_err(|e| signing(format!("RS256 public key: unreadable ({e})")))?;
        let (AlgorithmParameters::RSA(private), AlgorithmParameters::RSA(public)) =
            (private.algorithm, public.algorithm)
        else {
            return Err(signing("RS256 keys: not RSA keys".to_owned()));
        };
        if private.n != public.n || private.e != public.e {
            return Err(signing(
                "RS256 keys: the public key does not belong to the private key".to_owned(),
            ));
        }
        let bits = modulus_bits(&public.n)?;
        if bits < MIN_RSA_BITS {
            return Err(signing(format!(
                "RS256 keys: need at least {MIN_RSA_BITS} bits, this key has {bits}"
            )));
        }
        // The key id hashes the PKCS#1 public key, which jsonwebtoken extracts
        // from either PEM form, so both forms of one key get the same id.
        let der = decoding
            .try_get_as_bytes()
            .map_err(|e| signing(format!("RS256 public key: {e}")))?;
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(der));
        Ok(Self {
            encoding,
            decoding,
            public,
            kid,
        })
    }

    /// The public key as a JWKS document (RFC 7517).
    fn jwks(&self) -> serde_json::Value {
        serde_json::json!({
            "keys": [{
                "kty": "RSA",
                "use": "sig",
                "alg": "RS256",
                "kid": self.kid,
                "n": self.public.n,
                "e": self.public.e,
            }]
        })
    }
}

/// Size of a base64url big-endian modulus, leading zero bits excluded.
fn modulus_bits(n: &str) -> Result<usize, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(n)
        .map_err(|e| signing(format!("RS256 public key: bad modulus ({e})")))?;
    let mut significant = bytes.iter().skip_while(|b| **b == 0);
    Ok(significant.next().map_or(0, |first| {
        let rest = significant.count();
        rest * 8 + (u8::BITS - first.leading_zeros()) as usize
    }))
}

fn signing(message: String) -> TokenError {
    TokenError::Signing(message)
}
