//! Mail templates: a subject and a plain-text body with `{{key}}` placeholders.

use std::collections::BTreeMap;

use platform_ports::notify::{EmailMessage, NotifyError};

/// One mail template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailTemplate {
    /// Subject line (placeholders allowed).
    pub subject: String,
    /// Plain-text body (placeholders allowed).
    pub text: String,
}

impl MailTemplate {
    /// A template from its subject and body.
    pub fn new(subject: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            text: text.into(),
        }
    }

    /// The message to `to`, placeholders filled from `data`.
    #[must_use]
    pub fn render(&self, to: &str, data: &serde_json::Value) -> EmailMessage {
        EmailMessage {
            to: to.to_owned(),
            subject: render(&self.subject, data),
            text_body: render(&self.text, data),
            html_body: None,
        }
    }
}

/// The named templates the notifier knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailTemplates(BTreeMap<String, MailTemplate>);

impl MailTemplates {
    /// No templates at all.
    #[must_use]
    pub fn empty() -> Self {
        Self(BTreeMap::new())
    }

    /// These templates plus `name` (replacing one of that name).
    #[must_use]
    pub fn with(mut self, name: impl Into<String>, template: MailTemplate) -> Self {
        self.0.insert(name.into(), template);
        self
    }

    /// The template called `name`.
    ///
    /// # Errors
    /// [`NotifyError::UnknownTemplate`].
    pub fn get(&self, name: &str) -> Result<&MailTemplate, NotifyError> {
        self.0
            .get(name)
            .ok_or_else(|| NotifyError::UnknownTemplate(name.to_owned()))
    }

    /// The template names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

/// The platform's templates: `email_verification`, `password_reset`,
/// `welcome` and `digest`.
impl Default for MailTemplates {
    fn default() -> Self {
        Self::empty()
            .with(
                "email_verification",
                MailTemplate::new(
                    "Verify your email address",
                    "Hello,\n\n\
                     please confirm that {{email}} is your address by opening this link:\n\n\
                     {{link}}\n\n\
                     or by entering this token:\n\n\
                     Token: {{token}}\n\n\
                     If you did not create an account, ignore this message.\n",
                ),
            )
            .with(
                "password_reset",
                MailTemplate::new(
                    "Reset your password",
                    "Hello,\n\n\
                     someone asked to reset the password of the account {{email}}.\n\
                     To choose a new password, open this link:\n\n\
                     {{link}}\n\n\
                     or enter this token:\n\n\
                     Token: {{token}}\n\n\
                     If it was not you, ignore this message: your password stays as it is.\n",
                ),
            )
            .with(
                "welcome",
                MailTemplate::new("Welcome", "Hello {{name}},\n\nyour account {{email}} is ready.\n"),
            )
            .with(
                "digest",
                MailTemplate::new(
                    "Your digest",
                    "Hello {{name}},\n\nhere is what happened since your last digest:\n\n{{summary}}\n",
                ),
            )
    }
}

/// Fills `{{key}}` placeholders from `data`'s top-level fields in one pass:
/// a missing key gives an empty string, and values are inserted as they are
/// (never re-scanned, so a value cannot smuggle in another placeholder).
#[must_use]
pub fn render(template: &str, data: &serde_json::Value) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            // An unclosed `{{` is text.
            out.push_str(&rest[start..]);
            return out;
        };
        out.push_str(&value_text(data.get(after[..end].trim())));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

fn value_text(value: Option<&serde_json::Value>) -> String {
    match value {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}
