//! `HmacOpaqueTokens` against the `OpaqueTokens` contract.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::collections::HashSet;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use platform_adapter_crypto::{HmacOpaqueTokens, HmacOpaqueTokensParameters, RefreshKeyError, RefreshTokenKey};
use platform_ports::auth::OpaqueTokens;
use platform_ports::model::SecretString;

const KEY: &str = "test-only-refresh-token-key-0123456789abcdef";

fn tokens(key: &str) -> HmacOpaqueTokens {
    HmacOpaqueTokens::new(SecretString::new(key)).unwrap()
}

fn is_base64url_of_32_bytes(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && URL_SAFE_NO_PAD.decode(token).is_ok_and(|bytes| bytes.len() == 32)
}

#[test]
fn generated_tokens_are_256_bits_of_url_safe_text() {
    let tokens = tokens(KEY);
    for _ in 0..100 {
        let token = tokens.generate();
        assert!(is_base64url_of_32_bytes(token.expose()), "{}", token.expose());
    }
}

#[test]
fn generated_tokens_do_not_repeat() {
    let tokens = tokens(KEY);
    let seen: HashSet<String> = (0..1000).map(|_| tokens.generate().expose().to_owned()).collect();
    assert_eq!(seen.len(), 1000);
}

#[test]
fn generated_tokens_look_random() {
    // 1000 tokens are 256 000 bits; a fair source sets half of them, with a
    // standard deviation of ~253 bits. Five of them either side (~1300 bits)
    // never fail by chance; a stuck or biased source fails at once.
    let tokens = tokens(KEY);
    let ones: u32 = (0..1000)
        .flat_map(|_| URL_SAFE_NO_PAD.decode(tokens.generate().expose()).unwrap())
        .map(u8::count_ones)
        .sum();
    assert!((126_700..=129_300).contains(&ones), "{ones} of 256000 bits set");
}

#[test]
fn the_hash_is_sha256_in_lowercase_hex() {
    let tokens = tokens(KEY);
    // FIPS 180-2 test vector.
    assert_eq!(
        tokens.hash("abc").0,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let token = tokens.generate();
    let hash = tokens.hash(token.expose());
    assert_eq!(hash, tokens.hash(token.expose()), "stable");
    assert_eq!(
        hash,
        self::tokens("another-key-changes-nothing-here!").hash(token.expose())
    );
    assert_eq!(hash.0.len(), 64);
    assert!(hash.0.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    assert_ne!(hash, tokens.hash(tokens.generate().expose()));
}

#[test]
fn the_successor_is_keyed_and_deterministic() {
    let tokens = tokens(KEY);
    let parent = tokens.generate();
    let successor = tokens.successor(parent.expose());
    assert!(is_base64url_of_32_bytes(successor.expose()));
    assert_eq!(successor, tokens.successor(parent.expose()), "deterministic");
    assert_eq!(
        successor,
        self::tokens(KEY).successor(parent.expose()),
        "same on every instance"
    );
    assert_ne!(successor, parent);
    assert_ne!(successor, tokens.successor(tokens.generate().expose()), "per parent");
    assert_ne!(
        successor,
        self::tokens("a-different-refresh-token-key-0123456789").successor(parent.expose()),
        "per key"
    );
    assert_ne!(
        tokens.successor(successor.expose()),
        successor,
        "a chain does not cycle at once"
    );
}

#[test]
fn the_successor_is_hmac_sha256_of_the_labelled_parent() {
    // Computed with Python's hmac module, independently of this crate:
    // hmac.new(KEY, b"refresh-successor:parent-token", sha256), base64url, no padding.
    assert_eq!(
        tokens(KEY).successor("parent-token").expose(),
        "VJIAdBGKhGPteI2p7-281qlNOtJBE-8f_9MqxGh_rOs"
    );
}

#[test]
fn keys_under_32_bytes_are_refused() {
    let short = "0123456789abcdef0123456789abcde";
    assert_eq!(
        HmacOpaqueTokens::new(SecretString::new(short)).err(),
        Some(RefreshKeyError::TooShort(31))
    );
    assert_eq!(
        HmacOpaqueTokens::new(SecretString::default()).err(),
        Some(RefreshKeyError::TooShort(0))
    );
    assert!(HmacOpaqueTokens::new(SecretString::new(format!("{short}f"))).is_ok());
}

#[test]
fn builds_through_shaku_with_a_checked_key() {
    use shaku::HasComponent;
    shaku::module! {
        TestModule {
            components = [HmacOpaqueTokens],
            providers = []
        }
    }
    let key = RefreshTokenKey::new(&SecretString::new(KEY)).unwrap();
    let module = TestModule::builder()
        .with_component_parameters::<HmacOpaqueTokens>(HmacOpaqueTokensParameters { key })
        .build();
    let resolved: Arc<dyn OpaqueTokens> = module.resolve();
    assert_eq!(
        resolved.successor("parent-token"),
        tokens(KEY).successor("parent-token")
    );
    assert!(is_base64url_of_32_bytes(resolved.generate().expose()));
}
