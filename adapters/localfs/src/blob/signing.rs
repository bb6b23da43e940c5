//! Signed blob URLs: HMAC-SHA256 over the method, the expiry and the key.

use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use platform_ports::blob::SignedAccess;
use sha2::Sha256;

/// Everything but RFC 3986 unreserved characters is escaped in a key segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The key as a URL path: each segment escaped, separators kept.
pub(super) fn encode_key(key: &str) -> String {
    key.split('/')
        .map(|segment| utf8_percent_encode(segment, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

fn mac(secret: &[u8], key: &str, access: SignedAccess, expires: i64) -> Option<Hmac<Sha256>> {
    if secret.is_empty() {
        return None;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).ok()?;
    // Keys cannot contain a newline, so this canonical form is unambiguous.
    mac.update(format!("{}\n{expires}\n{key}", access.method()).as_bytes());
    Some(mac)
}

/// The hex signature, or `None` when the secret is unusable (empty).
pub(super) fn sign(secret: &[u8], key: &str, access: SignedAccess, expires: i64) -> Option<String> {
    mac(secret, key, access, expires).map(|mac| hex::encode(mac.finalize().into_bytes()))
}

/// Whether `signature` is the hex signature of these values, compared in constant time.
pub(super) fn verify(secret: &[u8], key: &str, access: SignedAccess, expires: i64, signature: &str) -> bool {
    let Ok(tag) = hex::decode(signature) else {
        return false;
    };
    mac(secret, key, access, expires).is_some_and(|mac| mac.verify_slice(&tag).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_but_unreserved_characters_and_separators() {
        assert_eq!(encode_key("blog/post/1/a b+c?.png"), "blog/post/1/a%20b%2Bc%3F.png");
        assert_eq!(encode_key("x/été~_-.txt"), "x/%C3%A9t%C3%A9~_-.txt");
        assert_eq!(encode_key("q/a#b&c=d%"), "q/a%23b%26c%3Dd%25");
    }

    #[test]
    fn signs_the_canonical_form() {
        // Expected value computed independently: HMAC-SHA256("Jefe", "GET\n0\nk").
        assert_eq!(
            sign(b"Jefe", "k", SignedAccess::Get, 0).unwrap(),
            "4f2e9f24e7f5099748fdf86e809c5ca5687b7ca4ad9fe231e48d90163c44958b"
        );
    }

    #[test]
    fn rfc_4231_vector_holds_for_the_underlying_mac() {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn verification_binds_every_signed_value() {
        let secret = b"secret";
        let signature = sign(secret, "a/b", SignedAccess::Put, 100).unwrap();
        assert!(verify(secret, "a/b", SignedAccess::Put, 100, &signature));
        assert!(verify(secret, "a/b", SignedAccess::Put, 100, &signature.to_uppercase()));
        assert!(!verify(secret, "a/c", SignedAccess::Put, 100, &signature));
        assert!(!verify(secret, "a/b", SignedAccess::Get, 100, &signature));
        assert!(!verify(secret, "a/b", SignedAccess::Put, 101, &signature));
        assert!(!verify(b"other", "a/b", SignedAccess::Put, 100, &signature));
        assert!(!verify(secret, "a/b", SignedAccess::Put, 100, &signature[..62]));
        assert!(!verify(secret, "a/b", SignedAccess::Put, 100, "zz"));
    }

    #[test]
    fn an_empty_secret_signs_nothing() {
        assert!(sign(b"", "a", SignedAccess::Get, 1).is_none());
        assert!(!verify(b"", "a", SignedAccess::Get, 1, ""));
    }
}
