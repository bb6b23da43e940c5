//! Turning an [`EmailMessage`] into the MIME lettre sends: multipart/alternative
//! text + HTML, RFC 2047 subjects and names, a Message-ID and a Date.

use std::time::SystemTime;

use lettre::Message;
use lettre::message::{Mailbox as LettreMailbox, MultiPart, SinglePart};
use platform_ports::notify::{EmailMessage, Mailbox, NotifyError};
use uuid::Uuid;

/// Builds every message from one sender.
#[derive(Clone, Debug)]
pub(crate) struct MessageFactory {
    from: LettreMailbox,
}

impl MessageFactory {
    /// A factory sending as `from` (`mail.from`, e.g. `Platform <no-reply@example.com>`).
    ///
    /// # Errors
    /// [`NotifyError::Invalid`] naming `mail.from` when it is not a mailbox.
    pub(crate) fn new(from: &str) -> Result<Self, NotifyError> {
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| NotifyError::Invalid(format!("`mail.from`: {e}")))
            .and_then(|m| mailbox("mail.from", &m))?;
        Ok(Self { from })
    }

    /// The sender.
    pub(crate) fn from(&self) -> &LettreMailbox {
        &self.from
    }

    /// The message, with `id` in its Message-ID and `date` as its Date.
    ///
    /// # Errors
    /// [`NotifyError::Invalid`] when the recipient cannot be encoded.
    pub(crate) fn build(&self, message: &EmailMessage, id: Uuid, date: SystemTime) -> Result<Message, NotifyError> {
        // The sender's domain, not the host name: a Message-ID must not leak internal names.
        let message_id = format!("<{}@{}>", id.simple(), self.from.email.domain());
        let builder = Message::builder()
            .from(self.from.clone())
            .to(mailbox("to", &message.to)?)
            .subject(message.subject.as_str())
            .message_id(Some(message_id))
            .date(date);
        let text = SinglePart::plain(message.text.clone());
        let built = match &message.html {
            // The boundary derives from the id, so the same id and date give the same bytes.
            Some(html) => builder.multipart(
                MultiPart::alternative()
                    .boundary(format!("alt-{}", id.simple()))
                    .singlepart(text)
                    .singlepart(SinglePart::html(html.clone())),
            ),
            None => builder.singlepart(text),
        };
        built.map_err(|e| NotifyError::Invalid(format!("cannot build the message: {e}")))
    }
}

/// The exact bytes every transport of this crate sends for `message` from
/// `from` with this Message-ID `id` and `date` (the file outbox writes them,
/// SMTP transmits them, SES receives them base64-encoded).
///
/// # Errors
/// [`NotifyError::Invalid`] when `from` or the recipient cannot be encoded.
pub fn mime_bytes(from: &str, message: &EmailMessage, id: Uuid, date: SystemTime) -> Result<Vec<u8>, NotifyError> {
    Ok(MessageFactory::new(from)?.build(message, id, date)?.formatted())
}

/// lettre's mailbox for ours; `field` names the value in the error.
fn mailbox(field: &str, mailbox: &Mailbox) -> Result<LettreMailbox, NotifyError> {
    let address = mailbox
        .address
        .parse()
        .map_err(|e| NotifyError::Invalid(format!("`{field}`: `{}`: {e}", mailbox.address)))?;
    Ok(LettreMailbox::new(mailbox.name.clone(), address))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn factory() -> MessageFactory {
        MessageFactory::new("Plätform Team <no-reply@example.com>").unwrap()
    }

    fn raw(message: &EmailMessage) -> String {
        let id = Uuid::now_v7();
        let built = factory().build(message, id, SystemTime::UNIX_EPOCH).unwrap();
        String::from_utf8(built.formatted()).unwrap()
    }

    #[test]
    fn html_mail_is_multipart_alternative_with_encoded_headers() {
        let message = EmailMessage::text(
            "Zoë Ärger <zoe@example.com>".parse().unwrap(),
            "Vérifiez votre adresse",
            "Bonjour = vous\n",
        )
        .with_html("<p>Bonjour</p>");
        let raw = raw(&message);
        let head = raw.split("\r\n\r\n").next().unwrap();
        assert!(
            head.contains("From: =?utf-8?b?UGzDpHRmb3JtIFRlYW0=?= <no-reply@example.com>"),
            "{head}"
        );
        assert!(
            head.contains("To: =?utf-8?b?Wm/DqyDDhHJnZXI=?= <zoe@example.com>"),
            "{head}"
        );
        assert!(head.contains("Subject: =?utf-8?b?"), "{head}");
        assert!(head.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000"), "{head}");
        assert!(head.contains("MIME-Version: 1.0"), "{head}");
        assert!(head.contains("@example.com>\r\n"), "Message-ID: {head}");
        assert!(head.contains("Content-Type: multipart/alternative;"), "{head}");
        let text_at = raw.find("Content-Type: text/plain; charset=utf-8").unwrap();
        let html_at = raw.find("Content-Type: text/html; charset=utf-8").unwrap();
        assert!(text_at < html_at, "text first, HTML last (the preferred part)");
    }

    #[test]
    fn text_mail_is_a_single_part() {
        let raw = raw(&EmailMessage::text("a@example.com".parse().unwrap(), "Hi", "Body"));
        assert!(raw.contains("Content-Type: text/plain; charset=utf-8"), "{raw}");
        assert!(!raw.contains("multipart"), "{raw}");
        assert!(raw.contains("Subject: Hi\r\n"), "{raw}");
    }

    #[test]
    fn message_ids_are_unique_per_id_and_use_the_sender_domain() {
        let message = EmailMessage::text("a@example.com".parse().unwrap(), "s", "b");
        let id = Uuid::now_v7();
        let built = factory().build(&message, id, SystemTime::now()).unwrap();
        let raw = String::from_utf8(built.formatted()).unwrap();
        assert!(
            raw.contains(&format!("Message-ID: <{}@example.com>", id.simple())),
            "{raw}"
        );
    }

    #[test]
    fn a_bad_from_names_the_key() {
        let err = MessageFactory::new("not a mailbox").unwrap_err();
        assert!(err.to_string().contains("`mail.from`"), "{err}");
    }
}
