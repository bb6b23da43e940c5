//! Scrubbing secrets out of error text before it leaves the process:
//! credentials in `key=value` / `key: value` / JSON pairs, whole
//! `Authorization` and `Cookie` header values, bearer and basic tokens, JWTs,
//! and passwords in URLs. Replaced by `[Filtered]`, as Sentry's own scrubber does.

use std::borrow::Cow;

/// What replaces a scrubbed value.
pub(crate) const FILTERED: &str = "[Filtered]";

/// Key fragments whose value is a secret (`db_password`, `X-Api-Key`, `refresh_token`).
const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "api-key",
    "access_key",
    "private_key",
    "credential",
    "session",
    "signature",
    "dsn",
    "authorization",
    "cookie",
];

/// Keys whose whole value (to the end of the line) is a secret, spaces included.
const WHOLE_LINE_KEYS: &[&str] = &["authorization", "cookie"];

/// `text` with every secret-looking value replaced by [`FILTERED`].
pub(crate) fn scrub(text: &str) -> Cow<'_, str> {
    let mut ranges = Vec::new();
    key_values(text, &mut ranges);
    schemes(text, &mut ranges);
    jwts(text, &mut ranges);
    url_passwords(text, &mut ranges);
    if ranges.is_empty() {
        return Cow::Borrowed(text);
    }
    ranges.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in ranges {
        if end <= at {
            continue;
        }
        let start = start.max(at);
        out.push_str(&text[at..start]);
        out.push_str(FILTERED);
        at = end;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

fn ends_value(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b',' | b';' | b'&' | b'"' | b'\'' | b'}' | b')' | b']')
}

/// `key=value`, `key: value`, `"key": "value"` where the key names a secret.
fn key_values(text: &str, ranges: &mut Vec<(usize, usize)>) {
    let lower = text.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    for fragment in SECRET_KEYS {
        for (found, _) in lower.match_indices(fragment) {
            // The whole identifier the fragment is part of.
            let start = bytes[..found].iter().rposition(|b| !is_ident(*b)).map_or(0, |p| p + 1);
            let mut at = found + fragment.len();
            while at < bytes.len() && is_ident(bytes[at]) {
                at += 1;
            }
            let key = &lower[start..at];
            if matches!(bytes.get(at), Some(b'"' | b'\'')) {
                at += 1;
            }
            while bytes.get(at) == Some(&b' ') {
                at += 1;
            }
            if !matches!(bytes.get(at), Some(b'=' | b':')) {
                continue;
            }
            at += 1;
            while bytes.get(at) == Some(&b' ') {
                at += 1;
            }
            let quote = bytes.get(at).copied().filter(|b| matches!(b, b'"' | b'\''));
            if quote.is_some() {
                at += 1;
            }
            let whole_line = WHOLE_LINE_KEYS.iter().any(|k| key.contains(k));
            let end = bytes[at..]
                .iter()
                .position(|b| match quote {
                    Some(q) => *b == q || *b == b'\n',
                    None if whole_line => *b == b'\n' || *b == b'\r',
                    None => ends_value(*b),
                })
                .map_or(bytes.len(), |p| at + p);
            if end > at {
                ranges.push((at, end));
            }
        }
    }
}

/// `Bearer <token>` and `Basic <credentials>`, wherever they appear.
fn schemes(text: &str, ranges: &mut Vec<(usize, usize)>) {
    let lower = text.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    for scheme in ["bearer ", "basic "] {
        for (found, _) in lower.match_indices(scheme) {
            let mut at = found + scheme.len();
            while bytes.get(at) == Some(&b' ') {
                at += 1;
            }
            let end = bytes[at..]
                .iter()
                .position(|b| ends_value(*b))
                .map_or(bytes.len(), |p| at + p);
            if end > at {
                ranges.push((at, end));
            }
        }
    }
}

/// Anything shaped like a JWT (`eyJ…` with two dots).
fn jwts(text: &str, ranges: &mut Vec<(usize, usize)>) {
    let bytes = text.as_bytes();
    for (found, _) in text.match_indices("eyJ") {
        let end = bytes[found..]
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')))
            .map_or(bytes.len(), |p| found + p);
        let dots = bytes[found..end].iter().filter(|b| **b == b'.').count();
        if dots >= 2 && end - found > 20 {
            ranges.push((found, end));
        }
    }
}

/// The password of `scheme://user:password@host`.
fn url_passwords(text: &str, ranges: &mut Vec<(usize, usize)>) {
    let bytes = text.as_bytes();
    for (found, _) in text.match_indices("://") {
        let start = found + 3;
        let Some(len) = bytes[start..]
            .iter()
            .position(|b| matches!(b, b'@' | b'/' | b' ' | b'\n' | b'"'))
        else {
            continue;
        };
        let userinfo_end = start + len;
        if bytes[userinfo_end] != b'@' {
            continue;
        }
        if let Some(colon) = bytes[start..userinfo_end].iter().position(|b| *b == b':') {
            ranges.push((start + colon + 1, userinfo_end));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_credentials_in_their_usual_shapes() {
        let cases = [
            ("authorization: Bearer abc.def", "authorization: [Filtered]"),
            (
                "headers: {\"Authorization\": \"Basic dXNlcjpwdw==\"}",
                "headers: {\"Authorization\": \"[Filtered]\"}",
            ),
            ("Cookie: sid=1; theme=dark\nnext", "Cookie: [Filtered]\nnext"),
            (
                "login failed password=hunter2 for bob",
                "login failed password=[Filtered] for bob",
            ),
            (
                "db_password: 's3cr3t', user: bob",
                "db_password: '[Filtered]', user: bob",
            ),
            ("x-api-key=K1&q=1", "x-api-key=[Filtered]&q=1"),
            ("postgres://app:pw@db:5432/app", "postgres://app:[Filtered]@db:5432/app"),
            ("sent Bearer tok123 upstream", "sent Bearer [Filtered] upstream"),
            ("refresh_token=\"r1\"", "refresh_token=\"[Filtered]\""),
        ];
        for (input, expected) in cases {
            assert_eq!(scrub(input), expected, "{input}");
        }
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXZhbHVl";
        assert_eq!(scrub(&format!("bad token {jwt} seen")), "bad token [Filtered] seen");
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        for text in [
            "connection refused (os error 111)",
            "the token expired",
            "user 0194f0b2-7a31-7c40-8000-000000000001 not found",
            "https://example.com/path",
        ] {
            assert!(matches!(scrub(text), Cow::Borrowed(_)), "{text}");
        }
    }
}
