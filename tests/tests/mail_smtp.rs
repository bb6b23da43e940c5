//! The platform with `mail.driver: smtp` against the capture server of
//! `.ci/services/smtp.sh` (STARTTLS and AUTH required): the registration
//! mail arrives with both parts, its headers and a link that verifies the
//! address; a 550 reply archives the mail task at once with the reply; a
//! server that is down during the send gets the mail once it is back.
#![allow(clippy::unwrap_used, reason = "test code: a failed unwrap is a failed test")]

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use platform_ports::jobs::{JobAdmin, JobState};
use platform_ports::model::PageRequest;
use platform_tests::{TestApp, expect, extract_token, parse_eml};
use serde_json::{Value, json};
use shaku::HasComponent;

const PASSWORD: &str = "correct-horse-battery";

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// The capture server: STARTTLS port, maildir, CA, credentials.
struct Capture {
    port: u16,
    maildir: PathBuf,
    ca: PathBuf,
    user: String,
    password: String,
}

impl Capture {
    /// The server the service script starts, or `None` after a loud skip
    /// (a failure under `CI=true`).
    fn find(test: &str) -> Option<Self> {
        let cache = std::env::var_os("PLATFORM_CI_CACHE").map_or_else(
            || PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/platform-ci"),
            PathBuf::from,
        );
        let capture = Self {
            port: env_or("PLATFORM_TEST_SMTP_AUTH_PORT", "12587").parse().unwrap(),
            maildir: platform_tests::capture_maildir(),
            ca: std::env::var_os("PLATFORM_TEST_SMTP_CA").map_or_else(|| cache.join("smtp/ca.pem"), PathBuf::from),
            user: env_or("PLATFORM_TEST_SMTP_USER", "platform"),
            password: env_or("PLATFORM_TEST_SMTP_PASSWORD", "platform-test-password"),
        };
        let up = std::net::TcpStream::connect(("127.0.0.1", capture.port)).is_ok() && capture.ca.is_file();
        if !up {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(
                !ci,
                "CI=true and the SMTP capture server is not on 127.0.0.1:{}",
                capture.port
            );
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPED: {test}: SMTP capture server not on 127.0.0.1:{} (bash .ci/services/smtp.sh) ***\n",
                capture.port
            );
            return None;
        }
        Some(capture)
    }

    /// An app sending through `port` (the capture server, or a proxy to it).
    async fn app(&self, port: u16) -> TestApp {
        TestApp::spawn_with_overrides(&[
            ("PLATFORM__MAIL__DRIVER", "smtp"),
            ("PLATFORM__MAIL__SMTP__HOST", "127.0.0.1"),
            ("PLATFORM__MAIL__SMTP__PORT", &port.to_string()),
            ("PLATFORM__MAIL__SMTP__TLS", "starttls"),
            ("PLATFORM__MAIL__SMTP__USERNAME", &self.user),
            ("PLATFORM__MAIL__SMTP__PASSWORD", &self.password),
            ("PLATFORM__MAIL__SMTP__CA_FILE", self.ca.to_str().unwrap()),
        ])
        .await
        .unwrap()
    }

    /// The message to `recipient` and the server's notes on it, within `wait`.
    async fn take(&self, recipient: &str, wait: Duration) -> (String, Value) {
        let deadline = Instant::now() + wait;
        loop {
            for entry in std::fs::read_dir(self.maildir.join("meta")).unwrap().flatten() {
                let Ok(meta) =
                    serde_json::from_str::<Value>(&std::fs::read_to_string(entry.path()).unwrap_or_default())
                else {
                    continue;
                };
                if meta["rcpt_tos"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|a| a == recipient))
                {
                    let key = entry.path().file_stem().unwrap().to_owned();
                    let raw = std::fs::read(self.maildir.join("new").join(&key)).unwrap();
                    let _ = std::fs::remove_file(entry.path());
                    let _ = std::fs::remove_file(self.maildir.join("new").join(&key));
                    return (String::from_utf8(raw).unwrap(), meta);
                }
            }
            assert!(
                Instant::now() < deadline,
                "no mail to {recipient} in {}",
                self.maildir.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}@example.com", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn the_registration_mail_arrives_over_starttls_with_auth() {
    let Some(capture) = Capture::find("the_registration_mail_arrives_over_starttls_with_auth") else {
        return;
    };
    let app = capture.app(capture.port).await;
    let email = unique("ada");
    let resp = app.try_register(&email, PASSWORD).await.unwrap();
    expect(resp, 201).await.unwrap();

    let (raw, meta) = capture.take(&email, Duration::from_secs(15)).await;
    assert_eq!(meta["tls"], true, "{meta}");
    assert_eq!(meta["auth_user"], capture.user.as_str(), "{meta}");
    // lettre's multipart/alternative: a text part and an HTML part.
    assert!(raw.contains("multipart/alternative"), "{raw}");
    assert!(raw.contains("text/plain") && raw.contains("text/html"), "{raw}");
    let mail = parse_eml(&raw).unwrap();
    assert_eq!(mail.subject(), "Verify your email address");
    assert!(mail.to().contains(&email), "{:?}", mail.headers);
    for header in ["From", "Date", "Message-ID", "MIME-Version"] {
        assert!(mail.header(header).is_some(), "no {header} in {:?}", mail.headers);
    }
    // The link verifies the address.
    let token = extract_token(&mail.body).unwrap();
    assert!(
        mail.body.contains(&format!(
            "{}/verify-email?token={token}",
            app.settings.server.public_url
        )),
        "{}",
        mail.body
    );
    let resp = app
        .post_json("auth/verify-email", &json!({ "token": token }))
        .await
        .unwrap();
    expect(resp, 204).await.unwrap();
    let tokens = app.login(&email, PASSWORD).await.unwrap();
    assert_eq!(app.me(&tokens.access_token).await.unwrap()["email_verified"], true);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_550_reply_archives_the_mail_task_with_the_reply() {
    let Some(capture) = Capture::find("a_550_reply_archives_the_mail_task_with_the_reply") else {
        return;
    };
    let app = capture.app(capture.port).await;
    let email = unique("reject-bea");
    expect(app.try_register(&email, PASSWORD).await.unwrap(), 201)
        .await
        .unwrap();
    let admin: Arc<dyn JobAdmin> = app.module.resolve();
    let deadline = Instant::now() + Duration::from_secs(15);
    let archived = loop {
        let page = admin
            .jobs("mail", JobState::Archived, PageRequest::default())
            .await
            .unwrap();
        let mine = |job: &platform_ports::jobs::JobInfo| String::from_utf8_lossy(&job.payload).contains(&email);
        if let Some(job) = page.items.into_iter().find(mine) {
            break job;
        }
        assert!(Instant::now() < deadline, "the rejected mail's task was not archived");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Archived after its first attempt, with the server's reply.
    assert_eq!(archived.retried, 0, "{archived:?}");
    assert!(
        archived.last_error.as_deref().unwrap_or_default().contains("550"),
        "{archived:?}"
    );
    app.stop().await.unwrap();
}

/// A TCP proxy on port 0 to `target` that refuses connections until `up` is set.
async fn switchable_proxy(target: u16, up: Arc<AtomicBool>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            if !up.load(Ordering::SeqCst) {
                drop(client); // down: the connection closes before the greeting
                continue;
            }
            tokio::spawn(async move {
                if let Ok(mut server) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn a_mail_sent_while_the_server_is_down_arrives_once_it_is_back() {
    let Some(capture) = Capture::find("a_mail_sent_while_the_server_is_down_arrives_once_it_is_back") else {
        return;
    };
    let up = Arc::new(AtomicBool::new(false));
    let port = switchable_proxy(capture.port, Arc::clone(&up)).await;
    let app = capture.app(port).await;
    let email = unique("cy");
    expect(app.try_register(&email, PASSWORD).await.unwrap(), 201)
        .await
        .unwrap();
    // The first attempt fails: the task waits for a retry.
    let admin: Arc<dyn JobAdmin> = app.module.resolve();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let page = admin
            .jobs("mail", JobState::Retry, PageRequest::default())
            .await
            .unwrap();
        if let Some(job) = page
            .items
            .iter()
            .find(|job| String::from_utf8_lossy(&job.payload).contains(&email))
        {
            assert!(job.last_error.is_some(), "{job:?}");
            break;
        }
        assert!(Instant::now() < deadline, "the mail task did not fail into its retry");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    up.store(true, Ordering::SeqCst);
    // The queue's first retry comes within 15 to 45 seconds (asynq's backoff).
    let (raw, _) = capture.take(&email, Duration::from_secs(60)).await;
    assert!(raw.contains("Verify your email address"), "{raw}");
    app.stop().await.unwrap();
}
