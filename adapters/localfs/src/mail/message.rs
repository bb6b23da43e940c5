//! Renders an [`EmailMessage`] as an RFC 5322 / MIME document.

use chrono::{DateTime, Utc};
use platform_ports::notify::{EmailMessage, NotifyError};
use uuid::Uuid;

use super::encoding::{encoded_words, header, needs_encoding, quoted_printable};

/// Longest address accepted (RFC 5321 path limit).
const MAX_ADDRESS_LEN: usize = 254;

/// Longest local part accepted (RFC 5321 §4.5.3.1.1).
const MAX_LOCAL_PART_LEN: usize = 64;

/// Characters that would make an unquoted local part mean something else in a header.
const LOCAL_PART_SPECIALS: &[char] = &['"', '(', ')', ',', ':', ';', '<', '>', '@', '[', '\\', ']'];

/// Characters allowed unquoted in a display name (RFC 5322 `atext` plus space).
const PHRASE_SPECIALS_FREE: &str = "!#$%&'*+-/=?^_`{|}~ ";

/// The configured sender, checked and ready for the `From` header.
#[derive(Debug)]
pub(super) struct Sender {
    /// The `From` header value.
    header_value: String,
    /// Domain used on the right of `Message-ID`.
    domain: String,
}

impl Sender {
    /// Parses `Name <address>` or a bare `address`.
    ///
    /// # Errors
    /// [`NotifyError::Backend`]: a bad sender is a configuration fault, not the caller's.
    pub(super) fn parse(from: &str) -> Result<Self, NotifyError> {
        let bad = || NotifyError::Backend(format!("the configured mail sender `{from}` is not a mailbox").into());
        if from.chars().any(char::is_control) {
            return Err(bad());
        }
        let (name, address) = match from.trim().split_once('<') {
            Some((name, rest)) => (name.trim(), rest.strip_suffix('>').ok_or_else(bad)?),
            None => ("", from.trim()),
        };
        let (_, domain) = split_address(address).ok_or_else(bad)?;
        let header_value = if name.is_empty() {
            address.to_owned()
        } else {
            format!("{} <{address}>", display_name(name))
        };
        Ok(Self {
            header_value,
            domain: domain.to_owned(),
        })
    }
}

/// Checks that `to` is one bare address that cannot smuggle headers.
///
/// # Errors
/// [`NotifyError::Invalid`] naming the broken rule (not the address, which may be personal data).
pub(super) fn validate_recipient(to: &str) -> Result<(), NotifyError> {
    if to.contains(['\r', '\n']) {
        return Err(NotifyError::Invalid(
            "recipient must not contain line breaks".to_owned(),
        ));
    }
    if split_address(to).is_none() {
        return Err(NotifyError::Invalid(
            "recipient must be a single email address".to_owned(),
        ));
    }
    Ok(())
}

/// Splits a bare `local@domain` address, or `None` when it is not one.
fn split_address(address: &str) -> Option<(&str, &str)> {
    if address.is_empty() || address.len() > MAX_ADDRESS_LEN {
        return None;
    }
    let (local, domain) = address.split_once('@')?;
    let local_ok = !local.is_empty()
        && local.len() <= MAX_LOCAL_PART_LEN
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && !local
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || LOCAL_PART_SPECIALS.contains(&c));
    // Labels are non-empty runs of letters, digits and hyphens (IDN letters allowed).
    let domain_ok = domain.split('.').all(|label| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_alphanumeric() || c == '-')
    });
    (local_ok && domain_ok).then_some((local, domain))
}

/// A display name as an atom sequence, a quoted string, or encoded-words.
fn display_name(name: &str) -> String {
    let unquoted = name
        .strip_prefix('"')
        .and_then(|n| n.strip_suffix('"'))
        .map_or_else(|| name.to_owned(), |n| n.replace("\\\"", "\"").replace("\\\\", "\\"));
    if needs_encoding(&unquoted) {
        encoded_words("From: ".len(), &unquoted)
    } else if unquoted
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || PHRASE_SPECIALS_FREE.contains(c))
    {
        unquoted
    } else {
        format!("\"{}\"", unquoted.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Renders `message` from `sender`, dated `date`, identified by `id` (CRLF line endings).
///
/// # Errors
/// [`NotifyError::Invalid`] for a recipient that is not one address or a
/// subject with line breaks.
pub(super) fn render(
    message: &EmailMessage,
    sender: &Sender,
    date: DateTime<Utc>,
    id: Uuid,
) -> Result<String, NotifyError> {
    validate_recipient(&message.to)?;
    if message.subject.chars().any(char::is_control) {
        return Err(NotifyError::Invalid(
            "subject must be a single line without control characters".to_owned(),
        ));
    }
    let mut out = String::with_capacity(512 + message.text_body.len() * 2);
    for line in [
        format!("From: {}", sender.header_value),
        format!("To: {}", message.to),
        header("Subject", &message.subject),
        format!("Date: {}", date.to_rfc2822()),
        format!("Message-ID: <{}@{}>", id.simple(), sender.domain),
        "MIME-Version: 1.0".to_owned(),
    ] {
        out.push_str(&line);
        out.push_str("\r\n");
    }
    match &message.html_body {
        None => {
            push_text_part(&mut out, "text/plain", &message.text_body);
            out.push_str("\r\n");
        }
        Some(html) => {
            // `=_` never occurs in quoted-printable output, so the parts cannot contain the boundary.
            let boundary = format!("=_{}", id.simple());
            out.push_str(&format!(
                "Content-Type: multipart/alternative;\r\n boundary=\"{boundary}\"\r\n\r\n"
            ));
            out.push_str("This is a multi-part message in MIME format.\r\n");
            for (content_type, body) in [("text/plain", &message.text_body), ("text/html", html)] {
                out.push_str(&format!("--{boundary}\r\n"));
                push_text_part(&mut out, content_type, body);
                out.push_str("\r\n");
            }
            out.push_str(&format!("--{boundary}--\r\n"));
        }
    }
    Ok(out)
}

/// Content headers, a blank line, and `body` in quoted-printable (no trailing CRLF).
fn push_text_part(out: &mut String, content_type: &str, body: &str) {
    out.push_str(&format!(
        "Content-Type: {content_type}; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    ));
    out.push_str(&quoted_printable(body));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_one_bare_address() {
        for to in [
            "user@example.com",
            "first.last+tag@sub.example.org",
            "dev@localhost",
            "jörg@bücher.de",
        ] {
            assert!(validate_recipient(to).is_ok(), "{to}");
        }
    }

    #[test]
    fn rejects_anything_but_one_bare_address() {
        for to in [
            "",
            "no-at-sign",
            "@example.com",
            "user@",
            "a@b@c.com",
            "a@b.com, c@d.com",
            "a,b@c.com",
            "a@b.com;c@d.com",
            "Name <a@b.com>",
            "a b@c.com",
            " a@b.com",
            "a@b..com",
            "a@-b.com",
            ".a@b.com",
            "a..b@c.com",
            "a@b.com\tx",
        ] {
            assert!(matches!(validate_recipient(to), Err(NotifyError::Invalid(_))), "{to:?}");
        }
        let long_local = format!("{}@b.com", "a".repeat(65));
        assert!(validate_recipient(&long_local).is_err());
        let long = format!("a@{}.com", "b".repeat(250));
        assert!(validate_recipient(&long).is_err());
    }

    #[test]
    fn line_breaks_in_the_recipient_are_injection() {
        for to in ["a@b.com\r\nBcc: evil@x.com", "a@b.com\nBcc: evil@x.com", "a@b.com\r"] {
            let Err(NotifyError::Invalid(why)) = validate_recipient(to) else {
                panic!("accepted {to:?}");
            };
            assert!(why.contains("line breaks"), "{why}");
        }
    }

    #[test]
    fn parses_sender_forms() {
        let sender = Sender::parse("Platform <no-reply@localhost>").unwrap();
        assert_eq!(sender.header_value, "Platform <no-reply@localhost>");
        assert_eq!(sender.domain, "localhost");

        let bare = Sender::parse("bot@mail.example.com").unwrap();
        assert_eq!(bare.header_value, "bot@mail.example.com");
        assert_eq!(bare.domain, "mail.example.com");

        assert_eq!(
            Sender::parse("Acme, Inc. <a@b.c>").unwrap().header_value,
            "\"Acme, Inc.\" <a@b.c>"
        );
        assert_eq!(
            Sender::parse("\"Acme, Inc.\" <a@b.c>").unwrap().header_value,
            "\"Acme, Inc.\" <a@b.c>"
        );
        assert_eq!(
            Sender::parse("Équipe <a@b.c>").unwrap().header_value,
            "=?UTF-8?Q?=C3=89quipe?= <a@b.c>"
        );
    }

    #[test]
    fn rejects_bad_senders_as_configuration_faults() {
        for from in [
            "",
            "Platform",
            "Platform <no-reply@localhost",
            "x <a@b.c>\r\nBcc: y@z.com",
            "<a b@c.d>",
        ] {
            assert!(matches!(Sender::parse(from), Err(NotifyError::Backend(_))), "{from:?}");
        }
    }
}
