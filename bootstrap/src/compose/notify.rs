//! Mail and its templates (`mail.*`), SMS (`sms.*`), push (`push.*`) and
//! outgoing webhooks (`webhooks.*`).

use std::sync::Arc;

use platform_adapter_notify_http::{
    ApnsPushSender, ApnsSettings, FcmPushSender, FcmSettings, StandardWebhookSender, TwilioSettings, TwilioSmsSender,
    WebhookSettings,
};
use platform_adapter_smtp::{
    FileMailer, FileMailerSettings, SesMailer, SesSettings, SmtpMailer, SmtpSettings, SmtpTls,
};
use platform_core::notify::{Channels, MailTemplateSettings, MailTemplates};
use platform_ports::notify::{Mailer, PushSender, SmsSender, WebhookSender};

use super::{Built, Parts, serve};
use crate::config::{MailDriver, PushDriver, Settings, SmsDriver, SmtpTlsMode};

/// The notification ports.
pub struct NotifyPorts {
    /// Sends mail.
    pub mailer: Box<dyn Mailer>,
    /// Templates (rendered against sample data at start-up) and the other channels.
    pub channels: Channels,
}

/// An optional file path setting: empty means none.
fn path(value: &str) -> Option<std::path::PathBuf> {
    (!value.is_empty()).then(|| value.into())
}

/// The SMS channel `sms.driver` picks, if any.
fn sms(settings: &Settings, parts: &mut Parts) -> anyhow::Result<Option<Arc<dyn SmsSender>>> {
    Ok(match settings.sms.driver {
        SmsDriver::None => {
            parts.record("SmsSender", "disabled".into());
            None
        }
        SmsDriver::Twilio => {
            let c = &settings.sms.twilio;
            let sender = TwilioSmsSender::new(&TwilioSettings {
                account_sid: c.account_sid.clone(),
                auth_token: c.auth_token.clone(),
                from: c.from.clone(),
                messaging_service_sid: c.messaging_service_sid.clone(),
                base_url: c.base_url.clone(),
                timeout: c.timeout,
            })
            .map_err(anyhow::Error::msg)?;
            Some(Arc::from(serve!(parts, SmsSender, sender)))
        }
    })
}

/// The push channel `push.driver` picks, if any.
fn push(settings: &Settings, parts: &mut Parts) -> anyhow::Result<Option<Arc<dyn PushSender>>> {
    let p = &settings.push;
    Ok(match p.driver {
        PushDriver::None => {
            parts.record("PushSender", "disabled".into());
            None
        }
        PushDriver::Fcm => {
            let sender = FcmPushSender::new(&FcmSettings {
                service_account_file: path(&p.fcm.service_account_file),
                service_account_json: p.fcm.service_account_json.clone(),
                project_id: p.fcm.project_id.clone(),
                base_url: p.fcm.base_url.clone(),
                token_url: p.fcm.token_url.clone(),
                timeout: p.fcm.timeout,
            })
            .map_err(anyhow::Error::msg)?;
            Some(Arc::from(serve!(parts, PushSender, sender)))
        }
        PushDriver::Apns => {
            let sender = ApnsPushSender::new(&ApnsSettings {
                key_file: path(&p.apns.key_file),
                key_pem: p.apns.key_pem.clone(),
                key_id: p.apns.key_id.clone(),
                team_id: p.apns.team_id.clone(),
                topic: p.apns.topic.clone(),
                base_url: p.apns.base_url.clone(),
                timeout: p.apns.timeout,
            })
            .map_err(anyhow::Error::msg)?;
            Some(Arc::from(serve!(parts, PushSender, sender)))
        }
    })
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
    let sms = sms(settings, &mut parts)?;
    let push = push(settings, &mut parts)?;
    let webhooks = StandardWebhookSender::new(&WebhookSettings {
        timeout: settings.webhooks.timeout,
        allow_private_targets: settings.webhooks.allow_private_targets,
    })
    .map_err(anyhow::Error::msg)?;
    let webhooks: Arc<dyn WebhookSender> = Arc::from(serve!(parts, WebhookSender, webhooks));
    Ok(Built {
        ports: NotifyPorts {
            mailer,
            channels: Channels {
                templates,
                sms,
                push,
                webhooks: Some(webhooks),
            },
        },
        parts,
    })
}
