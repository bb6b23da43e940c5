use serde::{Deserialize, Serialize};

use super::FieldError;

/// A page request: at most `limit` items after `cursor`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    /// How many items (1..=[`PageRequest::MAX_LIMIT`]).
    pub limit: u32,
    /// The opaque cursor of the previous page's `next_cursor`.
    pub cursor: Option<String>,
}

impl PageRequest {
    /// Items per page when the client does not say.
    pub const DEFAULT_LIMIT: u32 = 50;
    /// The largest page a client may ask for.
    pub const MAX_LIMIT: u32 = 200;

    /// Validates a client's limit and cursor.
    ///
    /// # Errors
    /// A [`FieldError`] on `limit` when it is 0 or above the maximum.
    pub fn new(limit: Option<u32>, cursor: Option<String>) -> Result<Self, FieldError> {
        let limit = limit.unwrap_or(Self::DEFAULT_LIMIT);
        if limit == 0 || limit > Self::MAX_LIMIT {
            return Err(FieldError::new(
                "limit",
                "out_of_range",
                format!("must be between 1 and {}", Self::MAX_LIMIT),
            ));
        }
        Ok(Self {
            limit,
            cursor: cursor.filter(|c| !c.is_empty()),
        })
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            limit: Self::DEFAULT_LIMIT,
            cursor: None,
        }
    }
}

/// One page of results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items, in the list's order.
    pub items: Vec<T>,
    /// The cursor of the next page, `None` on the last one.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Maps the items, keeping the cursor.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Encodes a sort key as an opaque cursor (unpadded base64url).
#[must_use]
pub fn encode_cursor(key: &str) -> String {
    let bytes = key.as_bytes();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// Decodes a cursor made by [`encode_cursor`].
///
/// # Errors
/// A [`FieldError`] on `cursor` when it was not made by this platform.
pub fn decode_cursor(cursor: &str) -> Result<String, FieldError> {
    let invalid = || FieldError::new("cursor", "invalid", "is not a cursor this list returned");
    let mut out = Vec::with_capacity(cursor.len() * 3 / 4);
    for chunk in cursor.as_bytes().chunks(4) {
        if chunk.len() == 1 {
            return Err(invalid());
        }
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            let v = ALPHABET.iter().position(|a| a == c).ok_or_else(invalid)?;
            n |= (v as u32) << (18 - 6 * i);
        }
        for i in 0..chunk.len() - 1 {
            out.push(((n >> (16 - 8 * i)) & 0xff) as u8);
        }
    }
    String::from_utf8(out).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        for key in ["", "a", "ab", "abc", "0190f7a8-1b2c-7d3e-8f40-5a6b7c8d9e0f|2026-01-01"] {
            assert_eq!(decode_cursor(&encode_cursor(key)).unwrap(), key);
        }
        assert!(decode_cursor("!!").is_err());
    }

    #[test]
    fn limit_is_bounded() {
        assert_eq!(PageRequest::new(None, None).unwrap().limit, 50);
        assert!(PageRequest::new(Some(0), None).is_err());
        assert!(PageRequest::new(Some(201), None).is_err());
    }
}
