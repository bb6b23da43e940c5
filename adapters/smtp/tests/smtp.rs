//! `SmtpMailer` against the aiosmtpd capture server (`.ci/services/smtp.sh`):
//! plain, STARTTLS + AUTH and implicit TLS + AUTH delivery of the exact MIME
//! bytes, permanent and transient refusals, and the health check.

#![allow(clippy::unwrap_used, reason = "test helpers: a failed unwrap is a failed test")]

mod common;

use std::time::Duration;

use common::{CaptureServer, assert_sample_mime, free_port, id_and_date, sample_message, unique_address};
use platform_adapter_smtp::{SmtpMailer, SmtpSettings, SmtpTls, mime_bytes};
use platform_ports::health::HealthChecker;
use platform_ports::model::SecretString;
use platform_ports::notify::{EmailMessage, Mailer, NotifyError};

const FROM: &str = "Plätform <no-reply@platform.example>";

fn plain(server: &CaptureServer) -> SmtpSettings {
    SmtpSettings {
        host: server.host.clone(),
        port: server.plain_port,
        tls: SmtpTls::None,
        from: FROM.into(),
        timeout: Duration::from_secs(5),
        ..SmtpSettings::default()
    }
}

fn authenticated(server: &CaptureServer, tls: SmtpTls) -> SmtpSettings {
    SmtpSettings {
        port: match tls {
            SmtpTls::Implicit => server.implicit_port,
            _ => server.auth_port,
        },
        tls,
        username: server.user.clone(),
        password: SecretString::new(server.password.clone()),
        ca_file: Some(server.ca_file.clone()),
        ..plain(server)
    }
}

/// Sends the sample through `settings` and checks what the server got.
async fn delivers(server: &CaptureServer, settings: &SmtpSettings, listener: &str) {
    let to = unique_address("zoe");
    let message = sample_message(&to);
    SmtpMailer::new(settings).unwrap().send(&message).await.unwrap();
    let (raw, meta) = server.take(&to).await;
    assert_eq!(meta["listener"], listener, "{meta}");
    assert_eq!(meta["mail_from"], "no-reply@platform.example");
    assert_sample_mime(&raw, "Plätform <no-reply@platform.example>", &to);
    // The very bytes lettre builds for this id and date; lettre ends DATA
    // with CRLF.CRLF after a message that already ends with CRLF, so the
    // server keeps one more empty line.
    let (id, date) = id_and_date(&raw);
    let mut expected = mime_bytes(FROM, &message, id, date).unwrap();
    expected.extend_from_slice(b"\r\n");
    assert!(
        raw == expected,
        "received:\n{}\nbuilt:\n{}",
        String::from_utf8_lossy(&raw),
        String::from_utf8_lossy(&expected)
    );
}

#[tokio::test]
async fn plain_delivery_carries_both_parts_and_the_headers() {
    let Some(server) = CaptureServer::find("plain_delivery_carries_both_parts_and_the_headers") else {
        return;
    };
    delivers(&server, &plain(&server), "plain").await;
}

#[tokio::test]
async fn starttls_and_auth_delivery() {
    let Some(server) = CaptureServer::find("starttls_and_auth_delivery") else {
        return;
    };
    let to = unique_address("auth");
    let mailer = SmtpMailer::new(&authenticated(&server, SmtpTls::StartTls)).unwrap();
    mailer.send(&sample_message(&to)).await.unwrap();
    let (raw, meta) = server.take(&to).await;
    assert_eq!(
        (meta["listener"].as_str(), meta["tls"].as_bool()),
        (Some("starttls"), Some(true)),
        "{meta}"
    );
    assert_eq!(meta["auth_user"], server.user.as_str());
    assert_sample_mime(&raw, "Plätform <no-reply@platform.example>", &to);
    // The pool reuses the authenticated connection for the next message.
    let second = unique_address("auth2");
    mailer.send(&sample_message(&second)).await.unwrap();
    server.take(&second).await;
}

#[tokio::test]
async fn implicit_tls_and_auth_delivery() {
    let Some(server) = CaptureServer::find("implicit_tls_and_auth_delivery") else {
        return;
    };
    let to = unique_address("smtps");
    SmtpMailer::new(&authenticated(&server, SmtpTls::Implicit))
        .unwrap()
        .send(&sample_message(&to))
        .await
        .unwrap();
    let (_, meta) = server.take(&to).await;
    assert_eq!(
        (meta["listener"].as_str(), meta["tls"].as_bool()),
        (Some("implicit"), Some(true)),
        "{meta}"
    );
    assert_eq!(meta["auth_user"], server.user.as_str());
}

#[tokio::test]
async fn a_550_reply_is_permanent_with_the_reply() {
    let Some(server) = CaptureServer::find("a_550_reply_is_permanent_with_the_reply") else {
        return;
    };
    let to = unique_address("reject");
    let err = SmtpMailer::new(&plain(&server))
        .unwrap()
        .send(&sample_message(&to))
        .await
        .unwrap_err();
    assert!(err.is_permanent(), "{err:?}");
    let NotifyError::Rejected { channel, reply } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*channel, "smtp");
    assert!(
        reply.starts_with("550 5.1.1 <reject-") && reply.contains("mailbox unavailable"),
        "{reply}"
    );
    assert!(!server.has_message(&to));
}

#[tokio::test]
async fn a_451_reply_is_transient() {
    let Some(server) = CaptureServer::find("a_451_reply_is_transient") else {
        return;
    };
    let err = SmtpMailer::new(&plain(&server))
        .unwrap()
        .send(&sample_message(&unique_address("tempfail")))
        .await
        .unwrap_err();
    assert!(!err.is_permanent(), "{err:?}");
    assert!(
        matches!(&err, NotifyError::Unavailable { reason, .. } if reason.starts_with("451 4.3.0")),
        "{err:?}"
    );
}

#[tokio::test]
async fn bad_credentials_and_untrusted_certificates_are_retryable() {
    let Some(server) = CaptureServer::find("bad_credentials_and_untrusted_certificates_are_retryable") else {
        return;
    };
    let wrong_password = SmtpSettings {
        password: SecretString::new("wrong"),
        ..authenticated(&server, SmtpTls::StartTls)
    };
    let err = SmtpMailer::new(&wrong_password)
        .unwrap()
        .send(&sample_message(&unique_address("badauth")))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, NotifyError::Unavailable { reason, .. } if reason.starts_with("535")),
        "{err:?}"
    );
    // Without the test CA the certificate is refused: nothing goes out in clear.
    let untrusted = SmtpSettings {
        ca_file: None,
        ..authenticated(&server, SmtpTls::StartTls)
    };
    let to = unique_address("untrusted");
    let err = SmtpMailer::new(&untrusted)
        .unwrap()
        .send(&sample_message(&to))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, NotifyError::Unavailable { reason, .. } if reason.contains("certificate")),
        "{err:?}"
    );
    assert!(!server.has_message(&to));
}

#[tokio::test]
async fn a_server_that_is_down_is_a_transient_error() {
    // Needs no server: nothing listens on this port.
    let settings = SmtpSettings {
        host: "127.0.0.1".into(),
        port: free_port(),
        tls: SmtpTls::None,
        timeout: Duration::from_secs(2),
        ..SmtpSettings::default()
    };
    let message = EmailMessage::text("ada@example.com".parse().unwrap(), "s", "b");
    let err = SmtpMailer::new(&settings).unwrap().send(&message).await.unwrap_err();
    assert!(
        matches!(err, NotifyError::Unavailable { channel: "smtp", .. }),
        "{err:?}"
    );
    assert!(!err.is_permanent());
    assert!(SmtpMailer::health_checker(&settings).unwrap().check().await.is_err());
}

#[tokio::test]
async fn the_health_check_wants_an_ehlo_answer_and_the_tls_upgrade() {
    let Some(server) = CaptureServer::find("the_health_check_wants_an_ehlo_answer_and_the_tls_upgrade") else {
        return;
    };
    for settings in [
        plain(&server),
        authenticated(&server, SmtpTls::StartTls),
        authenticated(&server, SmtpTls::Implicit),
    ] {
        let checker = SmtpMailer::health_checker(&settings).unwrap();
        checker
            .check()
            .await
            .unwrap_or_else(|e| panic!("{:?}: {e}", settings.tls));
    }
    // The plain listener offers no STARTTLS: a mailer requiring it would fail, so must the check.
    let no_starttls = SmtpSettings {
        tls: SmtpTls::StartTls,
        ca_file: Some(server.ca_file.clone()),
        ..plain(&server)
    };
    let err = SmtpMailer::health_checker(&no_starttls)
        .unwrap()
        .check()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("STARTTLS"), "{err}");
}

#[test]
fn bad_settings_name_the_key() {
    let cases = [
        (
            SmtpSettings {
                host: " ".into(),
                ..SmtpSettings::default()
            },
            "mail.smtp.host",
        ),
        (
            SmtpSettings {
                from: "nobody".into(),
                ..SmtpSettings::default()
            },
            "mail.from",
        ),
        (
            SmtpSettings {
                ca_file: Some("/nonexistent/ca.pem".into()),
                ..SmtpSettings::default()
            },
            "mail.smtp.ca_file",
        ),
    ];
    for (settings, key) in cases {
        let err = SmtpMailer::new(&settings).err().unwrap();
        assert!(err.to_string().contains(key), "{err}");
    }
}
