//! Request ids: the caller's `x-request-id` when sane, else a cheap unique one.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http::{HeaderMap, HeaderName, HeaderValue};

/// The header that carries the request id both ways.
pub(crate) const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest caller-supplied id we keep; longer ones are replaced, not truncated.
const MAX_LEN: usize = 128;
/// `pppppppppppp-cccccccccccc`: 48 random bits per process, a 48-bit counter.
const ID_LEN: usize = 25;
const COUNTER_MASK: u64 = (1 << 48) - 1;

/// Hands out request ids: a per-process random prefix and an atomic counter,
/// unique across instances without a clock read or an RNG call per request.
#[derive(Debug)]
pub(crate) struct RequestIds {
    prefix: u64,
    counter: AtomicU64,
}

impl RequestIds {
    /// A generator with a fresh random prefix.
    pub(crate) fn new() -> Self {
        let random = uuid::Uuid::new_v4().as_u128();
        #[allow(clippy::cast_possible_truncation)] // keeping the low 48 random bits is the point
        let prefix = (random as u64) & COUNTER_MASK;
        Self {
            prefix,
            counter: AtomicU64::new(0),
        }
    }

    /// The request's id and the header value that echoes it.
    ///
    /// A generated id is also written into the request's headers, so handlers
    /// that forward headers downstream pass the same id on.
    pub(crate) fn assign(&self, headers: &mut HeaderMap) -> (Arc<str>, HeaderValue) {
        if let Some(value) = headers.get(X_REQUEST_ID)
            && let Some(id) = sane(value)
        {
            return (Arc::from(id), value.clone());
        }
        let (id, value) = self.generate();
        headers.insert(X_REQUEST_ID, value.clone());
        (id, value)
    }

    fn generate(&self) -> (Arc<str>, HeaderValue) {
        let n = self.counter.fetch_add(1, Ordering::Relaxed) & COUNTER_MASK;
        let mut buf = [b'-'; ID_LEN];
        write_hex(&mut buf[..12], self.prefix);
        write_hex(&mut buf[13..], n);
        // Hex digits and '-' are valid UTF-8 and a valid header value, so
        // neither fallback below is ever taken.
        let id = String::from_utf8_lossy(&buf);
        let value = HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("-"));
        let id: Arc<str> = match id {
            Cow::Borrowed(s) => Arc::from(s),
            Cow::Owned(s) => Arc::from(s),
        };
        (id, value)
    }
}

/// 1 to 128 visible ASCII characters: safe to log and to echo.
fn sane(value: &HeaderValue) -> Option<&str> {
    let bytes = value.as_bytes();
    let ok = !bytes.is_empty() && bytes.len() <= MAX_LEN && bytes.iter().all(|b| (0x21..=0x7e).contains(b));
    if ok { value.to_str().ok() } else { None }
}

fn write_hex(out: &mut [u8], mut value: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for byte in out.iter_mut().rev() {
        *byte = DIGITS[(value & 0xf) as usize];
        value >>= 4;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(X_REQUEST_ID, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn keeps_a_sane_caller_id() {
        let ids = RequestIds::new();
        let (id, value) = ids.assign(&mut with("abc-123_XYZ"));
        assert_eq!(&*id, "abc-123_XYZ");
        assert_eq!(value, "abc-123_XYZ");
    }

    #[test]
    fn replaces_insane_caller_ids() {
        let ids = RequestIds::new();
        let long = "a".repeat(MAX_LEN + 1);
        for bad in ["has space", "", long.as_str(), "tab\there"] {
            let mut headers = with(bad);
            let (id, value) = ids.assign(&mut headers);
            assert_ne!(&*id, bad);
            assert_eq!(id.len(), ID_LEN);
            assert_eq!(headers[X_REQUEST_ID], value, "the request carries the new id");
        }
        assert_eq!(&*ids.assign(&mut with(&"a".repeat(MAX_LEN))).0, "a".repeat(MAX_LEN));
    }

    #[test]
    fn generated_ids_are_unique_and_share_the_process_prefix() {
        let ids = RequestIds::new();
        let generated: Vec<Arc<str>> = (0..1000).map(|_| ids.assign(&mut HeaderMap::new()).0).collect();
        let distinct: HashSet<&str> = generated.iter().map(|s| &**s).collect();
        assert_eq!(distinct.len(), generated.len());
        assert!(
            generated
                .iter()
                .all(|id| id[..12] == generated[0][..12] && id.as_bytes()[12] == b'-')
        );
        assert_eq!(&generated[1][13..], "000000000001");
        assert_ne!(RequestIds::new().prefix, RequestIds::new().prefix);
    }
}
