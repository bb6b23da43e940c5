//! [`FileMailer`]: the development mail adapter, one `.eml` file per message.

mod encoding;
mod message;

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_ports::notify::{EmailMessage, Mailer, NotifyError};
use tokio::fs;
use uuid::Uuid;

use crate::atomic::write_atomic;
use message::{Sender, render};

/// Where [`FileMailer`] writes and whom messages come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileMailerSettings {
    /// Outbox directory (`mail.file.dir`), created on first send.
    pub dir: PathBuf,
    /// The `From` mailbox, e.g. `Platform <no-reply@localhost>`.
    pub from: String,
}

impl Default for FileMailerSettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("var/mail"),
            from: "Platform <no-reply@localhost>".to_owned(),
        }
    }
}

/// A [`Mailer`] that writes each message as an RFC 5322 `.eml` file instead of sending it.
///
/// Files are named `{yyyyMMddTHHmmss.SSSZ}-{uuid v7}.eml`, so a directory
/// listing sorts them by time; each is written atomically, so a reader never
/// sees half a message.
#[derive(shaku::Component)]
#[shaku(interface = Mailer)]
pub struct FileMailer {
    /// Outbox directory and sender.
    settings: FileMailerSettings,
}

impl FileMailer {
    /// A mailer writing into `settings.dir`; nothing touches the disk until the first send.
    #[must_use]
    pub fn new(settings: FileMailerSettings) -> Self {
        Self { settings }
    }

    /// The outbox directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.settings.dir
    }
}

#[async_trait]
impl Mailer for FileMailer {
    async fn send(&self, message: &EmailMessage) -> Result<(), NotifyError> {
        let sender = Sender::parse(&self.settings.from)?;
        let id = Uuid::now_v7();
        // The name and the Date header take their time from the id, so file order matches id order.
        let date = id_time(id).unwrap_or_else(Utc::now);
        let document = render(message, &sender, date, id)?;
        fs::create_dir_all(&self.settings.dir).await.map_err(backend)?;
        let path = self.settings.dir.join(file_name(date, id));
        write_atomic(&path, document.as_bytes()).await.map_err(backend)?;
        tracing::info!(path = %path.display(), "mail written to the file outbox");
        Ok(())
    }
}

/// The instant embedded in a v7 id.
fn id_time(id: Uuid) -> Option<DateTime<Utc>> {
    let (secs, nanos) = id.get_timestamp()?.to_unix();
    DateTime::from_timestamp(i64::try_from(secs).ok()?, nanos)
}

/// `{yyyyMMddTHHmmss.SSSZ}-{uuid}.eml`.
fn file_name(date: DateTime<Utc>, id: Uuid) -> String {
    format!("{}-{}.eml", date.format("%Y%m%dT%H%M%S%.3fZ"), id.hyphenated())
}

fn backend(err: std::io::Error) -> NotifyError {
    NotifyError::Backend(err.into())
}

#[cfg(test)]
mod tests;
