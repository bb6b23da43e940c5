//! What the channels carry: mailboxes, email messages and push payloads.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A mail address with an optional display name (UTF-8 allowed in both).
///
/// Its text form is `user@example.com` or `Name <user@example.com>` (the name
/// quoted when it holds `"`, `,`, `<`...); serde uses that form. The MIME
/// encoding of non-ASCII names is the mail adapter's job.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Mailbox {
    /// The display name, if any.
    pub name: Option<String>,
    /// The address, `local@domain`.
    pub address: String,
}

/// A string that is not a mailbox.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a mailbox: expected `user@example.com` or `Name <user@example.com>`")]
pub struct InvalidMailbox(pub String);

impl Mailbox {
    /// A mailbox without a display name.
    ///
    /// # Errors
    /// [`InvalidMailbox`] when `address` is not `local@domain`.
    pub fn new(address: &str) -> Result<Self, InvalidMailbox> {
        Self::named(None, address)
    }

    /// A mailbox with an optional display name (blank names are dropped).
    ///
    /// # Errors
    /// [`InvalidMailbox`] when `address` is not `local@domain`, or the name
    /// holds a line break.
    pub fn named(name: Option<&str>, address: &str) -> Result<Self, InvalidMailbox> {
        let address = address.trim();
        let name = name.map(str::trim).filter(|n| !n.is_empty());
        let bad_name = name.is_some_and(|n| n.chars().any(char::is_control));
        if bad_name || !is_address(address) {
            return Err(InvalidMailbox(match name {
                Some(n) => format!("{n} <{address}>"),
                None => address.to_owned(),
            }));
        }
        Ok(Self {
            name: name.map(str::to_owned),
            address: address.to_owned(),
        })
    }
}

/// `local@domain` with no space, angle bracket, comma, quote or control character.
fn is_address(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    let clean = |s: &str| {
        !s.is_empty()
            && !s
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | '"' | '@' | ';'))
    };
    clean(local) && clean(domain) && !domain.starts_with('.') && !domain.ends_with('.')
}

impl FromStr for Mailbox {
    type Err = InvalidMailbox;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let raw = raw.trim();
        let Some(open) = raw.strip_suffix('>').and_then(|r| r.rfind('<')) else {
            return Self::new(raw);
        };
        let address = &raw[open + 1..raw.len() - 1];
        let name = raw[..open].trim();
        let name = match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
            Some(quoted) => unquote(quoted),
            None => name.to_owned(),
        };
        Self::named(Some(&name), address).map_err(|_| InvalidMailbox(raw.to_owned()))
    }
}

/// Undoes `\"` and `\\` inside a quoted display name.
fn unquote(quoted: &str) -> String {
    let mut out = String::with_capacity(quoted.len());
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.extend(chars.next());
        } else {
            out.push(c);
        }
    }
    out
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            None => f.write_str(&self.address),
            Some(name) if name.chars().any(|c| "\"\\,<>()[]:;@.".contains(c)) => {
                let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
                write!(f, "\"{escaped}\" <{}>", self.address)
            }
            Some(name) => write!(f, "{name} <{}>", self.address),
        }
    }
}

impl TryFrom<String> for Mailbox {
    type Error = InvalidMailbox;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Mailbox> for String {
    fn from(value: Mailbox) -> Self {
        value.to_string()
    }
}

/// An email ready to send: a text body and an optional HTML alternative.
///
/// Its JSON form is the `notify:email` job payload:
/// `{"to": "...", "subject": "...", "text": "...", "html": "..."}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailMessage {
    /// The recipient.
    pub to: Mailbox,
    /// Subject line (UTF-8).
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML alternative; with it the mail is multipart/alternative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
}

impl EmailMessage {
    /// A text-only message.
    #[must_use]
    pub fn text(to: Mailbox, subject: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            to,
            subject: subject.into(),
            text: text.into(),
            html: None,
        }
    }

    /// This message with an HTML alternative.
    #[must_use]
    pub fn with_html(mut self, html: impl Into<String>) -> Self {
        self.html = Some(html.into());
        self
    }
}

/// A push notification. With no title and no body it is a silent
/// (background) push carrying only `data`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushPayload {
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Body.
    #[serde(default)]
    pub body: String,
    /// Extra key-values for the app.
    #[serde(default)]
    pub data: BTreeMap<String, String>,
}

impl PushPayload {
    /// True when there is nothing to show: a background push.
    #[must_use]
    pub fn is_silent(&self) -> bool {
        self.title.is_empty() && self.body.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes_parse_and_print_back() {
        let plain: Mailbox = "ada@example.com".parse().unwrap();
        assert_eq!(
            (plain.name.as_deref(), plain.address.as_str()),
            (None, "ada@example.com")
        );
        let named: Mailbox = "Zoë Ärger <zoë@exämple.com>".parse().unwrap();
        assert_eq!(named.name.as_deref(), Some("Zoë Ärger"));
        assert_eq!(named.address, "zoë@exämple.com");
        assert_eq!(named.to_string(), "Zoë Ärger <zoë@exämple.com>");
        let quoted: Mailbox = r#""Lovelace, Ada \"A\"" <ada@example.com>"#.parse().unwrap();
        assert_eq!(quoted.name.as_deref(), Some(r#"Lovelace, Ada "A""#));
        assert_eq!(quoted.to_string().parse::<Mailbox>().unwrap(), quoted);
        let blank: Mailbox = " <ada@example.com>".parse().unwrap();
        assert_eq!(blank.name, None);
    }

    #[test]
    fn bad_mailboxes_are_refused() {
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "a da@example.com",
            "Ada <ada>",
            "x@y, z@w",
            "Ada\r\nBcc: x@y <ada@example.com>",
        ] {
            assert!(bad.parse::<Mailbox>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn the_message_json_is_the_job_payload() {
        let message =
            EmailMessage::text("Zoë <z@example.com>".parse().unwrap(), "Sujet é", "corps").with_html("<p>corps</p>");
        let json = serde_json::to_value(&message).unwrap();
        assert_eq!(
            json,
            serde_json::json!({ "to": "Zoë <z@example.com>", "subject": "Sujet é", "text": "corps", "html": "<p>corps</p>" })
        );
        assert_eq!(serde_json::from_value::<EmailMessage>(json).unwrap(), message);
        let err = serde_json::from_str::<EmailMessage>(r#"{"to":"nope","subject":"s","text":"t"}"#).unwrap_err();
        assert!(err.to_string().contains("`nope` is not a mailbox"), "{err}");
    }
}
