//! Reading what an app sent: with `mail.driver: file`, the `.eml` files its
//! mailer writes into its own `mail.file.dir`; with `mail.driver: smtp`, its
//! messages in the SMTP capture server's maildir ([`capture`]).

mod capture;
mod mime;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail, ensure};

pub use capture::capture_maildir;
pub(crate) use capture::{CaptureOutbox, check_maildir, tagged_sender};
pub use mime::{decode_quoted_printable, parse_eml};

use crate::app::TestApp;

/// How long [`TestApp::wait_for_mail`] polls the file outbox: delivery goes through the job queue.
const MAIL_WAIT: Duration = Duration::from_secs(5);

/// The same over SMTP: the job queue, then a connection to the capture
/// server, which stores the message before it answers.
const SMTP_MAIL_WAIT: Duration = Duration::from_secs(15);

/// Pause between two looks at the outbox.
const MAIL_POLL: Duration = Duration::from_millis(50);

/// One message from the outbox.
#[derive(Clone, Debug)]
pub struct Mail {
    /// The file it was read from (empty when parsed from a string).
    pub path: PathBuf,
    /// Unfolded, decoded headers in file order.
    pub headers: Vec<(String, String)>,
    /// The decoded `text/plain` body.
    pub body: String,
}

impl Mail {
    /// The first header called `name` (case-insensitive).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `To` header.
    #[must_use]
    pub fn to(&self) -> &str {
        self.header("To").unwrap_or_default()
    }

    /// The `Subject` header.
    #[must_use]
    pub fn subject(&self) -> &str {
        self.header("Subject").unwrap_or_default()
    }
}

///
/// # Errors
/// When there is no such line or it is empty.
pub fn extract_token(mail_body: &str) -> anyhow::Result<String> {
    let token = mail_body
        .lines()
        .find_map(|line| line.trim().strip_prefix("Token:"))
        .map(str::trim)
        .ok_or_else(|| anyhow!("no `Token: …` line in the mail body:\n{mail_body}"))?;
    ensure!(!token.is_empty(), "empty token line in:\n{mail_body}");
    Ok(token.to_owned())
}

/// Addresses compared case-insensitively (the platform normalizes emails).
fn same_address(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// Where an app's sent messages are read.
#[derive(Debug)]
pub(crate) enum Outbox {
    /// `.eml` files in the app's own `mail.file.dir`.
    Files,
    /// The SMTP capture server's maildir, the messages from the app's own sender.
    Capture(CaptureOutbox),
}

/// Every `.eml` file in `dir`, oldest first (the mailer names files by time).
async fn eml_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut entries = match tokio::fs::read_dir(dir).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut files = Vec::new();
    while let Some(entry) = entries.next_entry().await? {
        let path = entry.path();
        if path.extension().is_some_and(|ext| ext == "eml") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

impl TestApp {
    /// Every message the app has sent so far, oldest first.
    ///
    /// # Errors
    /// When the directory or a message cannot be read or parsed.
    pub async fn mails(&self) -> anyhow::Result<Vec<Mail>> {
        if let Outbox::Capture(capture) = &self.outbox {
            return capture.mails();
        }
        let mut mails = Vec::new();
        for path in eml_files(self.mail_dir()).await? {
            let raw = tokio::fs::read_to_string(&path)
                .await
                .with_context(|| format!("reading {}", path.display()))?;
            let mut mail = parse_eml(&raw).with_context(|| format!("parsing {}", path.display()))?;
            mail.path = path;
            mails.push(mail);
        }
        Ok(mails)
    }

    /// The messages addressed to `to` (any case) right now.
    ///
    /// # Errors
    /// As [`TestApp::mails`].
    pub async fn mails_to(&self, to: &str) -> anyhow::Result<Vec<Mail>> {
        Ok(self
            .mails()
            .await?
            .into_iter()
            .filter(|m| same_address(m.to(), to))
            .collect())
    }

    /// How long [`TestApp::wait_for_mail_message`] waits for a message.
    #[must_use]
    pub fn mail_wait(&self) -> Duration {
        match self.outbox {
            Outbox::Files => MAIL_WAIT,
            Outbox::Capture(_) => SMTP_MAIL_WAIT,
        }
    }

    /// Waits up to [`TestApp::mail_wait`] (5 s from the file outbox, 15 s
    /// over SMTP) for a message to `to` with `subject` that no earlier call
    /// returned, and returns it (the oldest such message).
    ///
    /// # Errors
    /// When none arrives in time, or the outbox cannot be read.
    pub async fn wait_for_mail_message(&self, to: &str, subject: &str) -> anyhow::Result<Mail> {
        let wait = self.mail_wait();
        let deadline = Instant::now() + wait;
        loop {
            let mails = self.mails().await?;
            {
                let mut seen = self
                    .seen_mail
                    .lock()
                    .map_err(|_| anyhow!("mail bookkeeping poisoned"))?;
                if let Some(mail) = mails
                    .iter()
                    .find(|m| same_address(m.to(), to) && m.subject() == subject && !seen.contains(&m.path))
                {
                    seen.insert(mail.path.clone());
                    return Ok(mail.clone());
                }
            }
            if Instant::now() >= deadline {
                let present: Vec<String> = mails
                    .iter()
                    .map(|m| format!("{:?} / {:?}", m.to(), m.subject()))
                    .collect();
                let outbox = match &self.outbox {
                    Outbox::Files => self.mail_dir().display().to_string(),
                    Outbox::Capture(capture) => format!("{} (this app's sender only)", capture.maildir().display()),
                };
                bail!("no new mail to {to} with subject {subject:?} within {wait:?}; {outbox} holds {present:?}");
            }
            tokio::time::sleep(MAIL_POLL).await;
        }
    }

    /// Waits up to [`TestApp::mail_wait`] for a new message to `to` with `subject` and returns its decoded text body.
    ///
    /// # Errors
    /// As [`TestApp::wait_for_mail_message`].
    pub async fn wait_for_mail(&self, to: &str, subject: &str) -> anyhow::Result<String> {
        Ok(self.wait_for_mail_message(to, subject).await?.body)
    }
}
