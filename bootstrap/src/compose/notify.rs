//! Mail and its templates (`mail.*`).

use std::sync::Arc;

use platform_adapter_smtp::{
    FileMailer, FileMailerSettings, SesMailer, SesSettings, SmtpMailer, SmtpSettings, SmtpTls,
};
use platform_core::notify::{MailTemplateSettings, MailTemplates};
use platform_ports::notify::Mailer;

use super::{Built, Parts, serve};
use crate::config::{MailDriver, Settings, SmtpTlsMode};

/// The notification ports.
pub struct NotifyPorts {
    /// Sends mail.
    pub mailer: Box<dyn Mailer>,
    /// Every template, rendered against sample data at start-up.
    pub templates: MailTemplates,
}

/// Builds the configured mail transport and loads the templates; a template
/// that does not render stops start-up here, naming it.
///
/// # Errors
/// A broken template (`mail.templates_dir`) or a transport setting the
/// adapter refuses (naming its key).
pub fn build(settings: &Settings) -> anyhow::Result<Built<NotifyPorts>> {
    let mut parts = Parts::default();
    let m = &settings.mail;
    let templates = MailTemplates::load(&MailTemplateSettings {
        dir: (!m.templates_dir.is_empty()).then(|| m.templates_dir.clone().into()),
        product_name: m.product_name.clone(),
    })
    .map_err(|e| anyhow::anyhow!("mail.templates_dir: {e}"))?;
    let mailer = match m.driver {
        MailDriver::File => serve!(
            parts,
            Mailer,
            FileMailer::new(FileMailerSettings {
                dir: m.file.dir.clone(),
                from: m.from.clone(),
            })
        ),
        MailDriver::Smtp => {
            let c = &m.smtp;
            let smtp = SmtpSettings {
                host: c.host.clone(),
                port: c.port,
                tls: match c.tls {
                    SmtpTlsMode::None => SmtpTls::None,
                    SmtpTlsMode::Starttls => SmtpTls::StartTls,
                    SmtpTlsMode::Implicit => SmtpTls::Implicit,
                },
                username: c.username.clone(),
                password: c.password.clone(),
                from: m.from.clone(),
                timeout: c.timeout,
                pool_max_size: c.pool_max_size,
                ca_file: (!c.ca_file.is_empty()).then(|| c.ca_file.clone().into()),
                ..SmtpSettings::default()
            };
            parts.check("smtp", Arc::new(SmtpMailer::health_checker(&smtp)?));
            serve!(parts, Mailer, SmtpMailer::new(&smtp)?)
        }
        MailDriver::Ses => {
            let c = &m.ses;
            let ses = SesSettings {
                region: c.region.clone(),
                endpoint: c.endpoint.clone(),
                from: m.from.clone(),
                configuration_set: c.configuration_set.clone(),
                access_key_id: c.access_key_id.clone(),
                secret_access_key: c.secret_access_key.clone(),
                profile: c.profile.clone(),
                timeout: c.timeout,
                ..SesSettings::default()
            };
            parts.check(
                "ses",
                Arc::new(SesMailer::health_checker(&ses).map_err(anyhow::Error::msg)?),
            );
            serve!(parts, Mailer, SesMailer::new(&ses).map_err(anyhow::Error::msg)?)
        }
    };
    Ok(Built {
        ports: NotifyPorts { mailer, templates },
        parts,
    })
}
