//! [`FileMailer`]: the development mail adapter, one `.eml` file per message,
//! holding exactly the bytes an SMTP server would receive.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_ports::notify::{EmailMessage, Mailer, NotifyError};
use tokio::fs;
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use crate::message::MessageFactory;

/// Where [`FileMailer`] writes and whom messages come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileMailerSettings {
    /// Outbox directory (`mail.file.dir`), created on first send.
    pub dir: PathBuf,
    /// The `From` mailbox (`mail.from`), e.g. `Platform <no-reply@localhost>`.
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
/// listing sorts them by time; each is written under a temporary name and
/// renamed, so a reader never sees half a message.
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
        let factory = MessageFactory::new(&self.settings.from)?;
        let id = Uuid::now_v7();
        // The name and the Date header take their time from the id, so file order matches id order.
        let date = id_time(id).unwrap_or_else(Utc::now);
        let built = factory.build(message, id, SystemTime::from(date))?;
        fs::create_dir_all(&self.settings.dir)
            .await
            .map_err(NotifyError::backend)?;
        let path = self.settings.dir.join(file_name(date, id));
        write_atomic(&path, &built.formatted())
            .await
            .map_err(NotifyError::backend)?;
        tracing::info!(path = %path.display(), "mail written to the file outbox");
        Ok(())
    }
}

/// The instant embedded in a v7 id (millisecond precision).
fn id_time(id: Uuid) -> Option<DateTime<Utc>> {
    let (secs, nanos) = id.get_timestamp()?.to_unix();
    DateTime::from_timestamp(i64::try_from(secs).ok()?, nanos)
}

/// `{yyyyMMddTHHmmss.SSSZ}-{uuid}.eml`.
fn file_name(date: DateTime<Utc>, id: Uuid) -> String {
    format!("{}-{}.eml", date.format("%Y%m%dT%H%M%S%.3fZ"), id.hyphenated())
}

/// Writes `data` next to `path` under a hidden temporary name (not `.eml`,
/// so outbox readers skip it), flushes it, and renames it into place.
async fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("mail");
    let temp = path.with_file_name(format!(".{name}.tmp"));
    let written = async {
        let mut file = fs::File::create_new(&temp).await?;
        file.write_all(data).await?;
        file.sync_all().await?;
        drop(file);
        fs::rename(&temp, path).await
    }
    .await;
    if written.is_err() {
        // Best effort: a leftover temp file is harmless but wastes space.
        let _ = fs::remove_file(&temp).await;
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailer(dir: &Path) -> FileMailer {
        FileMailer::new(FileMailerSettings {
            dir: dir.join("outbox"),
            from: "Platform <no-reply@localhost>".into(),
        })
    }

    async fn files(dir: &Path) -> Vec<PathBuf> {
        let mut entries = fs::read_dir(dir).await.unwrap();
        let mut out = Vec::new();
        while let Some(entry) = entries.next_entry().await.unwrap() {
            out.push(entry.path());
        }
        out.sort();
        out
    }

    #[tokio::test]
    async fn writes_one_time_ordered_eml_file_per_message() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = mailer(dir.path());
        for subject in ["first", "second"] {
            let message = EmailMessage::text("ada@example.com".parse().unwrap(), subject, "Token: x\n")
                .with_html("<p>Token: x</p>");
            mailer.send(&message).await.unwrap();
        }
        let files = files(&dir.path().join("outbox")).await;
        assert_eq!(files.len(), 2, "{files:?}");
        let first = fs::read_to_string(&files[0]).await.unwrap();
        assert!(first.contains("Subject: first\r\n"), "{first}");
        assert!(first.contains("To: ada@example.com\r\n"), "{first}");
        assert!(first.contains("Content-Type: multipart/alternative;"), "{first}");
        let name = files[0].file_name().unwrap().to_str().unwrap();
        assert!(
            name.ends_with(".eml") && name.len() == "20260101T000000.000Z-".len() + 36 + 4,
            "{name}"
        );
        // The Date header is the time in the name.
        let stamp = DateTime::parse_from_str(&format!("{}+0000", &name[..19]), "%Y%m%dT%H%M%S.%3f%z").unwrap();
        assert!(
            first.contains(&format!("Date: {}", stamp.format("%a, %d %b %Y %H:%M:%S +0000"))),
            "{first}"
        );
    }

    #[tokio::test]
    async fn a_bad_sender_or_recipient_is_invalid_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = FileMailer::new(FileMailerSettings {
            dir: dir.path().join("outbox"),
            from: "nobody".into(),
        });
        let message = EmailMessage::text("ada@example.com".parse().unwrap(), "s", "b");
        let err = mailer.send(&message).await.unwrap_err();
        assert!(
            matches!(&err, NotifyError::Invalid(m) if m.contains("mail.from")),
            "{err:?}"
        );
        assert!(!dir.path().join("outbox").exists());
    }

    #[tokio::test]
    async fn an_unwritable_outbox_is_a_transient_error() {
        let dir = tempfile::tempdir().unwrap();
        let blocked = dir.path().join("file");
        fs::write(&blocked, b"not a directory").await.unwrap();
        let mailer = FileMailer::new(FileMailerSettings {
            dir: blocked,
            from: "Platform <no-reply@localhost>".into(),
        });
        let err = mailer
            .send(&EmailMessage::text("ada@example.com".parse().unwrap(), "s", "b"))
            .await
            .unwrap_err();
        assert!(matches!(err, NotifyError::Backend(_)) && !err.is_permanent(), "{err:?}");
    }
}
