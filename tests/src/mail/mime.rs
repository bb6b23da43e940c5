//! Just enough MIME to read the platform's mails: unfolded headers, RFC 2047
//! encoded-words, multipart/alternative and quoted-printable or base64 bodies.

use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::Mail;

/// Parses an RFC 5322 message and decodes its `text/plain` body.
///
/// # Errors
/// When the message has no header/body separator, a multipart message has no
/// `text/plain` part, or a transfer encoding is invalid.
pub fn parse_eml(raw: &str) -> anyhow::Result<Mail> {
    let (headers, body) = split_entity(raw)?;
    let text = text_body(&headers, body)?;
    Ok(Mail {
        path: PathBuf::new(),
        headers,
        body: text,
    })
}

/// Splits a MIME entity into its unfolded, decoded headers and its raw body.
fn split_entity(raw: &str) -> anyhow::Result<(Vec<(String, String)>, &str)> {
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .or_else(|| raw.split_once("\n\n"))
        .ok_or_else(|| anyhow!("no blank line between headers and body"))?;
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            let (_, value) = headers
                .last_mut()
                .ok_or_else(|| anyhow!("continuation line before any header: {line:?}"))?;
            value.push_str(line);
        } else {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| anyhow!("header line without a colon: {line:?}"))?;
            headers.push((name.trim().to_owned(), value.trim_start().to_owned()));
        }
    }
    let decoded = headers
        .into_iter()
        .map(|(k, v)| decode_header_value(&v).map(|v| (k, v)))
        .collect::<anyhow::Result<_>>()?;
    Ok((decoded, body))
}

/// The decoded text of an entity: its `text/plain` part when it is multipart.
fn text_body(headers: &[(String, String)], body: &str) -> anyhow::Result<String> {
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let content_type = find("Content-Type").unwrap_or("text/plain");
    if content_type.to_ascii_lowercase().starts_with("multipart/") {
        let boundary =
            parameter(content_type, "boundary").ok_or_else(|| anyhow!("multipart without boundary: {content_type}"))?;
        let delimiter = format!("--{boundary}");
        for part in body.split(delimiter.as_str()).skip(1) {
            if part.starts_with("--") {
                break;
            }
            let part = part.trim_start_matches(['\r', '\n']);
            let (part_headers, part_body) = split_entity(part)?;
            let part_type = part_headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("Content-Type"))
                .map_or("text/plain", |(_, v)| v.as_str());
            if part_type.to_ascii_lowercase().starts_with("text/plain") {
                return text_body(&part_headers, part_body);
            }
        }
        bail!("multipart message without a text/plain part");
    }
    let encoding = find("Content-Transfer-Encoding")
        .unwrap_or("7bit")
        .trim()
        .to_ascii_lowercase();
    match encoding.as_str() {
        "quoted-printable" => decode_quoted_printable(body),
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            Ok(String::from_utf8(STANDARD.decode(compact)?)?)
        }
        _ => Ok(body.replace("\r\n", "\n")),
    }
}

/// A `name=value` or `name="value"` parameter of a structured header.
fn parameter<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    value.split(';').skip(1).find_map(|param| {
        let (k, v) = param.trim().split_once('=')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim().trim_matches('"'))
    })
}

/// Decodes a quoted-printable body (RFC 2045 §6.7) to text with `\n` line breaks.
///
/// # Errors
/// When an `=` escape is not two hex digits or the bytes are not UTF-8.
pub fn decode_quoted_printable(encoded: &str) -> anyhow::Result<String> {
    let mut out = Vec::with_capacity(encoded.len());
    let lines: Vec<&str> = encoded.split('\n').collect();
    for (index, line) in lines.iter().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        // Transports may add trailing whitespace; the encoder never ends a line with it.
        let line = line.trim_end_matches([' ', '\t']);
        let (line, soft_break) = match line.strip_suffix('=') {
            Some(rest) => (rest, true),
            None => (line, false),
        };
        unescape(line, &mut out)?;
        if !soft_break && index + 1 < lines.len() {
            out.push(b'\n');
        }
    }
    String::from_utf8(out).context("quoted-printable body is not UTF-8")
}

/// Appends the bytes of one encoded line, resolving `=XX` escapes.
fn unescape(line: &str, out: &mut Vec<u8>) -> anyhow::Result<()> {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            let hex = line
                .get(i + 1..i + 3)
                .ok_or_else(|| anyhow!("truncated escape in {line:?}"))?;
            out.push(u8::from_str_radix(hex, 16).with_context(|| format!("bad escape ={hex} in {line:?}"))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(())
}

/// Decodes RFC 2047 encoded-words (`=?charset?Q|B?…?=`) in a header value;
/// whitespace between adjacent encoded-words is dropped.
fn decode_header_value(value: &str) -> anyhow::Result<String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    let mut pending_space = String::new();
    let mut after_word = false;
    while !rest.is_empty() {
        let Some(start) = rest.find("=?") else {
            out.push_str(&pending_space);
            out.push_str(rest);
            break;
        };
        let literal = &rest[..start];
        let word = &rest[start + 2..];
        let mut pieces = word.splitn(3, '?');
        let (Some(_charset), Some(kind), Some(tail)) = (pieces.next(), pieces.next(), pieces.next()) else {
            out.push_str(&pending_space);
            out.push_str(rest);
            break;
        };
        let Some(end) = tail.find("?=") else {
            out.push_str(&pending_space);
            out.push_str(rest);
            break;
        };
        let payload = &tail[..end];
        if !(after_word && literal.trim().is_empty()) {
            out.push_str(&pending_space);
            out.push_str(literal);
        }
        pending_space.clear();
        let decoded = match kind.to_ascii_uppercase().as_str() {
            "Q" => {
                let mut bytes = Vec::with_capacity(payload.len());
                unescape(&payload.replace('_', " "), &mut bytes)?;
                String::from_utf8(bytes)?
            }
            "B" => String::from_utf8(STANDARD.decode(payload)?)?,
            other => bail!("unknown encoded-word encoding {other:?}"),
        };
        out.push_str(&decoded);
        rest = &tail[end + 2..];
        after_word = true;
        // Whitespace after a word is kept only if plain text, not another word, follows.
        let trimmed = rest.trim_start();
        pending_space = rest[..rest.len() - trimmed.len()].to_owned();
        rest = trimmed;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::extract_token;

    #[test]
    fn decodes_quoted_printable() {
        let encoded = "Caf=C3=A9 na=C3=AFve =3D ok\r\nsecond line that is long and =\r\ncontinues\r\ntrailing  \r\n";
        assert_eq!(
            decode_quoted_printable(encoded).unwrap(),
            "Café naïve = ok\nsecond line that is long and continues\ntrailing\n"
        );
        assert_eq!(decode_quoted_printable("lower =c3=a9").unwrap(), "lower é");
        assert!(decode_quoted_printable("bad =ZZ").is_err());
        assert!(decode_quoted_printable("cut =4").is_err());
    }

    #[test]
    fn decodes_encoded_word_headers() {
        assert_eq!(
            decode_header_value("=?UTF-8?Q?V=C3=A9rifiez_votre_?= =?UTF-8?Q?adresse?=").unwrap(),
            "Vérifiez votre adresse"
        );
        assert_eq!(
            decode_header_value("Hello =?UTF-8?B?d29ybGQ=?= again").unwrap(),
            "Hello world again"
        );
        assert_eq!(
            decode_header_value("Verify your email address").unwrap(),
            "Verify your email address"
        );
    }

    #[test]
    fn parses_a_single_part_message() {
        let raw = "From: Platform <no-reply@localhost>\r\nTo: a@example.com\r\nSubject: Verify your\r\n email address\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHello,\r\nToken: abc=3Ddef\r\nhttp://x/verify-email?token=3Dabc\r\n";
        let mail = parse_eml(raw).unwrap();
        assert_eq!(mail.to(), "a@example.com");
        assert_eq!(mail.subject(), "Verify your email address");
        assert_eq!(extract_token(&mail.body).unwrap(), "abc=def");
        assert!(mail.body.contains("http://x/verify-email?token=abc"));
    }

    #[test]
    fn parses_the_text_part_of_a_multipart_message() {
        let raw = "To: b@example.com\r\nSubject: Reset your password\r\nContent-Type: multipart/alternative;\r\n boundary=\"=_abc\"\r\n\r\nThis is a multi-part message in MIME format.\r\n--=_abc\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>Token: html</p>\r\n--=_abc\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nToken: plain-123\r\n--=_abc--\r\n";
        let mail = parse_eml(raw).unwrap();
        assert_eq!(mail.subject(), "Reset your password");
        assert_eq!(extract_token(&mail.body).unwrap(), "plain-123");
    }

    #[test]
    fn a_body_without_a_token_line_is_an_error() {
        assert!(extract_token("Hello\nno token here\n").is_err());
        assert!(extract_token("Token:   \n").is_err());
    }
}
