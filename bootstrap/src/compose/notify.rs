//! Mail and the other notification channels (`mail.driver`).

use platform_adapter_localfs::{FileMailer, FileMailerSettings};
use platform_ports::notify::Mailer;

use super::{Built, Parts, serve};
use crate::config::{MailDriver, Settings};

/// The notification ports.
pub struct NotifyPorts {
    /// Sends mail.
    pub mailer: Box<dyn Mailer>,
}

/// Builds the configured mail transport.
///
/// # Errors
/// When the configured driver has no adapter in this build (naming the key).
pub fn build(settings: &Settings) -> anyhow::Result<Built<NotifyPorts>> {
    let mut parts = Parts::default();
    let m = &settings.mail;
    let mailer = match m.driver {
        MailDriver::File => serve!(
            parts,
            Mailer,
            FileMailer::new(FileMailerSettings {
                dir: m.file.dir.clone(),
                from: m.from.clone(),
            })
        ),
        MailDriver::Smtp => anyhow::bail!("mail.driver: `smtp` has no adapter in this build yet; use `file`"),
    };
    Ok(Built {
        ports: NotifyPorts { mailer },
        parts,
    })
}
