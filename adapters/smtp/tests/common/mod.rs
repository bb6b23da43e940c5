//! What the mail tests share: finding the capture server and moto (or
//! skipping loudly), reading what arrived, and checking MIME.

#![allow(dead_code, reason = "each test binary uses part of the support code")]

use std::io::Write as _;
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use chrono::DateTime;
use mailparse::{MailHeaderMap, ParsedMail};
use platform_ports::notify::EmailMessage;
use uuid::Uuid;

/// Whether this run is CI, where a missing service fails instead of skipping.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Fails in CI, prints a loud skip notice otherwise.
pub fn skip_or_fail(test: &str, reason: &str) {
    assert!(!in_ci(), "CI=true and {reason}");
    // Straight to the stream: libtest swallows `eprintln!` of passing tests.
    let _ = writeln!(std::io::stderr(), "\n*** SKIPPED: {test}: {reason} ***\n");
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// The CI cache the service scripts use.
fn ci_cache() -> PathBuf {
    std::env::var_os("PLATFORM_CI_CACHE").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/platform-ci"),
        PathBuf::from,
    )
}

/// The capture server `.ci/services/smtp.sh` starts.
#[derive(Clone, Debug)]
pub struct CaptureServer {
    pub host: String,
    pub plain_port: u16,
    pub auth_port: u16,
    pub implicit_port: u16,
    pub maildir: PathBuf,
    pub ca_file: PathBuf,
    pub user: String,
    pub password: String,
}

impl CaptureServer {
    /// The server from `PLATFORM_TEST_SMTP_*` (the script's defaults), or
    /// `None` after a loud skip (a failure in CI).
    pub fn find(test: &str) -> Option<Self> {
        let port = |name, default| env_or(name, default).parse().expect("a port number");
        let server = Self {
            host: env_or("PLATFORM_TEST_SMTP_HOST", "127.0.0.1"),
            plain_port: port("PLATFORM_TEST_SMTP_PORT", "12525"),
            auth_port: port("PLATFORM_TEST_SMTP_AUTH_PORT", "12587"),
            implicit_port: port("PLATFORM_TEST_SMTP_IMPLICIT_PORT", "12465"),
            maildir: std::env::var_os("PLATFORM_TEST_SMTP_MAILDIR")
                .map_or_else(|| ci_cache().join("smtp/maildir"), PathBuf::from),
            ca_file: std::env::var_os("PLATFORM_TEST_SMTP_CA")
                .map_or_else(|| ci_cache().join("smtp/ca.pem"), PathBuf::from),
            user: env_or("PLATFORM_TEST_SMTP_USER", "platform"),
            password: env_or("PLATFORM_TEST_SMTP_PASSWORD", "platform-test-password"),
        };
        let open = [server.plain_port, server.auth_port, server.implicit_port]
            .iter()
            .all(|p| {
                std::net::TcpStream::connect_timeout(
                    &format!("{}:{p}", server.host).parse().unwrap(),
                    Duration::from_secs(1),
                )
                .is_ok()
            });
        if !open || !server.ca_file.is_file() {
            skip_or_fail(
                test,
                &format!(
                    "SMTP capture server not reachable at {}:{}/{}/{} with its CA at {} (start it: bash .ci/services/smtp.sh)",
                    server.host,
                    server.plain_port,
                    server.auth_port,
                    server.implicit_port,
                    server.ca_file.display()
                ),
            );
            return None;
        }
        Some(server)
    }

    /// Waits up to 10 s for the message sent to `recipient`, removes it from
    /// the maildir, and returns its bytes and the server's notes about it.
    pub async fn take(&self, recipient: &str) -> (Vec<u8>, serde_json::Value) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(found) = self.find_message(recipient) {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "no message to {recipient} in {}",
                self.maildir.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether anything was delivered to `recipient` (without waiting).
    pub fn has_message(&self, recipient: &str) -> bool {
        self.find_message(recipient).is_some()
    }

    fn find_message(&self, recipient: &str) -> Option<(Vec<u8>, serde_json::Value)> {
        let entries = std::fs::read_dir(self.maildir.join("meta")).ok()?;
        for entry in entries.flatten() {
            let Ok(text) = std::fs::read_to_string(entry.path()) else {
                continue;
            };
            let Ok(meta) = serde_json::from_str::<serde_json::Value>(&text) else {
                continue;
            };
            if meta["rcpt_tos"]
                .as_array()
                .is_some_and(|r| r.iter().any(|a| a == recipient))
            {
                let key = entry.path().file_stem()?.to_str()?.to_owned();
                let message = self.maildir.join("new").join(&key);
                let raw = std::fs::read(&message).ok()?;
                let _ = std::fs::remove_file(&message);
                let _ = std::fs::remove_file(entry.path());
                return Some((raw, meta));
            }
        }
        None
    }
}

/// A recipient address no other test (or earlier run) uses.
pub fn unique_address(prefix: &str) -> String {
    format!("{prefix}-{}@example.com", Uuid::new_v4().simple())
}

/// A local port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A message with both parts, UTF-8 in the subject, the name and the bodies.
pub fn sample_message(to: &str) -> EmailMessage {
    EmailMessage::text(
        format!("Zoë Ärger <{to}>").parse().unwrap(),
        "Vérifiez votre adresse ✓",
        "Bonjour Zoë,\n\nToken: abc=123\nhttps://app.example.com/verify-email?token=abc%3D123\n",
    )
    .with_html(
        "<p>Bonjour <b>Zoë</b>, <a href=\"https://app.example.com/verify-email?token=abc%3D123\">vérifier</a></p>",
    )
}

/// The Message-ID's id and the Date of a received message.
pub fn id_and_date(raw: &[u8]) -> (Uuid, SystemTime) {
    let parsed = mailparse::parse_mail(raw).unwrap();
    let message_id = parsed.headers.get_first_value("Message-ID").unwrap();
    let id = message_id.trim_matches(['<', '>']).split('@').next().unwrap();
    let date = parsed.headers.get_first_value("Date").unwrap();
    let date = DateTime::parse_from_rfc2822(&date).unwrap();
    (Uuid::parse_str(id).unwrap(), SystemTime::from(date))
}

/// Checks the headers and both parts of `sample_message(to)` as received.
pub fn assert_sample_mime(raw: &[u8], from: &str, to: &str) {
    let parsed = mailparse::parse_mail(raw).unwrap();
    let header = |name: &str| {
        parsed
            .headers
            .get_first_value(name)
            .unwrap_or_else(|| panic!("no {name} header"))
    };
    assert_eq!(header("Subject"), "Vérifiez votre adresse ✓");
    assert_eq!(header("From"), from);
    assert_eq!(header("To"), format!("Zoë Ärger <{to}>"));
    assert_eq!(header("MIME-Version"), "1.0");
    let domain = from.rsplit('@').next().unwrap().trim_end_matches('>');
    assert!(
        header("Message-ID").ends_with(&format!("@{domain}>")),
        "{}",
        header("Message-ID")
    );
    DateTime::parse_from_rfc2822(&header("Date")).unwrap();
    assert_eq!(parsed.ctype.mimetype, "multipart/alternative");
    let [text, html]: &[ParsedMail<'_>; 2] = parsed.subparts.as_slice().try_into().unwrap();
    assert_eq!(
        (text.ctype.mimetype.as_str(), text.ctype.charset.as_str()),
        ("text/plain", "utf-8")
    );
    assert_eq!(text.get_body().unwrap().replace("\r\n", "\n"), sample_message(to).text);
    assert_eq!(html.ctype.mimetype, "text/html");
    assert_eq!(
        html.get_body().unwrap().replace("\r\n", "\n"),
        sample_message(to).html.unwrap()
    );
}

/// The moto server `.ci/services/moto.sh` starts, or `None` after a loud skip.
pub fn moto_endpoint(test: &str) -> Option<String> {
    let port = env_or("PLATFORM_TEST_MOTO_PORT", "15000");
    let address = format!("127.0.0.1:{port}");
    if std::net::TcpStream::connect_timeout(&address.parse().unwrap(), Duration::from_secs(1)).is_err() {
        skip_or_fail(
            test,
            &format!("moto (SES v2) not reachable at {address} (start it: bash .ci/services/moto.sh)"),
        );
        return None;
    }
    Some(format!("http://{address}"))
}

/// One request a [`FakeHttp`] received.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A canned answer: status, extra headers, body.
pub type Canned = (u16, Vec<(&'static str, &'static str)>, &'static str);

/// An HTTP/1.1 server on port 0 answering each request with the next canned
/// answer (status, extra headers, body), keeping what it received.
pub struct FakeHttp {
    pub url: String,
    pub received: std::sync::Arc<std::sync::Mutex<Vec<Received>>>,
}

impl FakeHttp {
    pub async fn start(answers: Vec<Canned>) -> Self {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = received.clone();
        tokio::spawn(async move {
            for (status, headers, body) in answers {
                let (stream, _) = listener.accept().await.unwrap();
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                reader.read_line(&mut line).await.unwrap();
                let mut parts = line.split_whitespace();
                let (method, path) = (parts.next().unwrap().to_owned(), parts.next().unwrap().to_owned());
                let mut request_headers = Vec::new();
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).await.unwrap();
                    let header = header.trim_end();
                    if header.is_empty() {
                        break;
                    }
                    let (k, v) = header.split_once(':').unwrap();
                    request_headers.push((k.trim().to_owned(), v.trim().to_owned()));
                }
                let length = request_headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .map_or(0, |(_, v)| v.parse().unwrap());
                let mut request_body = vec![0; length];
                reader.read_exact(&mut request_body).await.unwrap();
                log.lock().unwrap().push(Received {
                    method,
                    path,
                    headers: request_headers,
                    body: request_body,
                });
                let mut answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n",
                    body.len()
                );
                for (k, v) in headers {
                    answer.push_str(&format!("{k}: {v}\r\n"));
                }
                answer.push_str("\r\n");
                answer.push_str(body);
                let mut stream = reader.into_inner();
                stream.write_all(answer.as_bytes()).await.unwrap();
                stream.shutdown().await.ok();
            }
        });
        Self { url, received }
    }

    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}
