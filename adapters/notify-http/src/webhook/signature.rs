//! Standard Webhooks signatures: `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`,
//! the key being the base64 part of a `whsec_` secret.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The `webhook-signature` header value: one `v1,` signature per secret,
/// space-separated (several while a secret is rotated).
///
/// # Errors
/// The index of a secret that is not `whsec_<base64>` (or bare base64).
pub(crate) fn signature_header(secrets: &[&str], id: &str, timestamp: i64, body: &str) -> Result<String, usize> {
    let mut signatures = Vec::with_capacity(secrets.len());
    for (index, secret) in secrets.iter().enumerate() {
        let key = STANDARD
            .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
            .map_err(|_| index)?;
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).map_err(|_| index)?;
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body.as_bytes());
        signatures.push(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())));
    }
    Ok(signatures.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn matches_the_reference_example() {
        let header = signature_header(
            &["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(header, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn one_signature_per_secret_and_bad_secrets_are_named() {
        let header = signature_header(&["whsec_AAAA", "BBBB"], "id", 1, "{}").unwrap();
        assert_eq!(header.split(' ').count(), 2);
        assert!(header.split(' ').all(|s| s.starts_with("v1,")));
        assert_eq!(
            signature_header(&["whsec_AAAA", "whsec_not base64!"], "id", 1, "{}"),
            Err(1)
        );
    }
}
