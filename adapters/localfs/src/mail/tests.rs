use std::collections::BTreeMap;

use super::encoding::decode;
use super::*;

/// A parsed `.eml`: unfolded headers (decoded from RFC 2047) and the raw body.
struct Parsed {
    headers: BTreeMap<String, String>,
    body: String,
}

impl Parsed {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("missing header {name}"))
    }
}

/// Parses a header block and body, checking line endings and lengths on the way.
fn parse(raw: &str) -> Parsed {
    assert!(
        !raw.replace("\r\n", "").contains(['\r', '\n']),
        "bare CR or LF in message"
    );
    for line in raw.split("\r\n") {
        assert!(line.len() <= 78, "line too long ({}): {line}", line.len());
    }
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let mut headers = BTreeMap::new();
    let mut last: Option<String> = None;
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            let name = last.as_ref().unwrap();
            headers
                .get_mut(name)
                .map(|value: &mut String| value.push_str(line))
                .unwrap();
        } else {
            let (name, value) = line.split_once(": ").unwrap();
            assert!(
                headers.insert(name.to_owned(), value.to_owned()).is_none(),
                "duplicate {name}"
            );
            last = Some(name.to_owned());
        }
    }
    let headers = headers
        .into_iter()
        .map(|(name, value)| (name, decode::header_value(&value)))
        .collect();
    Parsed {
        headers,
        body: body.to_owned(),
    }
}

fn mailer_in(dir: &Path) -> FileMailer {
    FileMailer::new(FileMailerSettings {
        dir: dir.to_path_buf(),
        from: "Platform <no-reply@localhost>".to_owned(),
    })
}

fn message(to: &str, subject: &str, text: &str) -> EmailMessage {
    EmailMessage {
        to: to.to_owned(),
        subject: subject.to_owned(),
        text_body: text.to_owned(),
        html_body: None,
    }
}

/// The `.eml` files in `dir`, sorted by name.
fn outbox(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.map(|entry| entry.unwrap().path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

const URL: &str =
    "https://platform.example.com/api/v1/auth/reset?token=eyJhbGciOiJIUzI1NiJ9.c3ViPTEyMw%3D%3D&lang=fr-FR#top";

fn long_text() -> String {
    format!(
        "Bonjour Zoë,\n\nNous avons reçu une demande de réinitialisation du mot de passe associé à votre compte — si vous n'êtes pas à l'origine de cette demande, ignorez ce message. Ünïcödé ✓ 🎉 日本語.\n\n{URL}\n\nTrailing space \nÀ bientôt!\n"
    )
}

#[tokio::test]
async fn writes_a_message_that_parses_back() {
    let dir = tempfile::tempdir().unwrap();
    let outbox_dir = dir.path().join("var/mail");
    let mailer = mailer_in(&outbox_dir);
    let text = long_text();
    let before = Utc::now();

    mailer
        .send(&message("zoe@example.com", "Reset your password", &text))
        .await
        .unwrap();

    let files = outbox(&outbox_dir);
    assert_eq!(files.len(), 1);
    let name = files[0].file_name().unwrap().to_str().unwrap();
    let (stamp, rest) = name.split_at(20);
    let stamped = chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%S%.3fZ")
        .unwrap()
        .and_utc();
    assert!(
        stamped >= before - chrono::Duration::milliseconds(1) && stamped <= Utc::now(),
        "{name}"
    );
    let id = Uuid::parse_str(rest.strip_prefix('-').unwrap().strip_suffix(".eml").unwrap()).unwrap();
    assert_eq!(id.get_version_num(), 7);

    let raw = std::fs::read_to_string(&files[0]).unwrap();
    let parsed = parse(&raw);
    assert_eq!(parsed.header("From"), "Platform <no-reply@localhost>");
    assert_eq!(parsed.header("To"), "zoe@example.com");
    assert_eq!(parsed.header("Subject"), "Reset your password");
    let date = DateTime::parse_from_rfc2822(parsed.header("Date")).unwrap();
    assert_eq!(date.timestamp(), stamped.timestamp());
    assert_eq!(parsed.header("Message-ID"), format!("<{}@localhost>", id.simple()));
    assert_eq!(parsed.header("MIME-Version"), "1.0");
    assert_eq!(parsed.header("Content-Type"), "text/plain; charset=utf-8");
    assert_eq!(parsed.header("Content-Transfer-Encoding"), "quoted-printable");

    assert!(parsed.body.lines().all(|line| line.len() <= 76));
    let body = parsed.body.strip_suffix("\r\n").unwrap();
    let decoded = decode::quoted_printable(body);
    assert_eq!(decoded, text.replace('\n', "\r\n"));
    assert!(
        decoded.lines().any(|line| line == URL),
        "the URL survives intact on its own line"
    );
}

#[tokio::test]
async fn non_ascii_subjects_are_encoded_words() {
    let dir = tempfile::tempdir().unwrap();
    let mailer = mailer_in(dir.path());
    let subject = "Réinitialisation de votre mot de passe — Plateforme 日本語 ✓ with a rather long tail";
    mailer.send(&message("a@example.com", subject, "x")).await.unwrap();
    let raw = std::fs::read_to_string(&outbox(dir.path())[0]).unwrap();
    let head = raw.split_once("\r\n\r\n").unwrap().0;
    assert!(head.is_ascii(), "headers stay 7-bit");
    assert!(head.contains("Subject: =?UTF-8?Q?"));
    assert_eq!(parse(&raw).header("Subject"), subject);
}

#[tokio::test]
async fn header_injection_is_rejected_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mailer = mailer_in(dir.path());
    let attempts = [
        message("victim@example.com\r\nBcc: everyone@example.com", "Hi", "x"),
        message("victim@example.com\nBcc: everyone@example.com", "Hi", "x"),
        message("a@example.com, b@example.com", "Hi", "x"),
        message("", "Hi", "x"),
        message("a@example.com", "Hi\r\nBcc: everyone@example.com", "x"),
        message("a@example.com", "Hi\nthere", "x"),
    ];
    for attempt in &attempts {
        assert!(
            matches!(mailer.send(attempt).await, Err(NotifyError::Invalid(_))),
            "{attempt:?}"
        );
    }
    assert!(outbox(dir.path()).is_empty());
}

#[tokio::test]
async fn html_bodies_make_a_multipart_alternative() {
    let dir = tempfile::tempdir().unwrap();
    let mailer = mailer_in(dir.path());
    let html = format!(
        "<p>Bonjour Zoë,</p>\n<p><a href=\"{URL}\">Réinitialiser</a> — {}</p>\n",
        "très ".repeat(30)
    );
    let text = long_text();
    let mut email = message("zoe@example.com", "Reset", &text);
    email.html_body = Some(html.clone());

    mailer.send(&email).await.unwrap();

    let raw = std::fs::read_to_string(&outbox(dir.path())[0]).unwrap();
    let parsed = parse(&raw);
    assert_eq!(parsed.header("MIME-Version"), "1.0");
    let content_type = parsed.header("Content-Type");
    let boundary = content_type
        .strip_prefix("multipart/alternative; boundary=\"")
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap();
    let closing = format!("\r\n--{boundary}--\r\n");
    assert!(parsed.body.ends_with(&closing));
    let inner = parsed.body.strip_suffix(&closing).unwrap();
    let parts: Vec<&str> = inner.split(&format!("\r\n--{boundary}\r\n")).collect();
    assert_eq!(parts.len(), 3, "preamble and two parts");

    let mut decoded = Vec::new();
    for part in &parts[1..] {
        let (head, body) = part.split_once("\r\n\r\n").unwrap();
        let mut headers = head.split("\r\n");
        let content_type = headers
            .next()
            .unwrap()
            .strip_prefix("Content-Type: ")
            .unwrap()
            .to_owned();
        assert_eq!(headers.next(), Some("Content-Transfer-Encoding: quoted-printable"));
        decoded.push((content_type, decode::quoted_printable(body)));
    }
    assert_eq!(
        decoded[0],
        ("text/plain; charset=utf-8".to_owned(), text.replace('\n', "\r\n"))
    );
    assert_eq!(
        decoded[1],
        ("text/html; charset=utf-8".to_owned(), html.replace('\n', "\r\n"))
    );
}

#[tokio::test]
async fn file_names_sort_in_sending_order() {
    let dir = tempfile::tempdir().unwrap();
    let mailer = mailer_in(dir.path());
    for index in 0..20 {
        mailer
            .send(&message("a@example.com", &format!("message {index:02}"), "x"))
            .await
            .unwrap();
    }
    let subjects: Vec<String> = outbox(dir.path())
        .iter()
        .map(|path| {
            parse(&std::fs::read_to_string(path).unwrap())
                .header("Subject")
                .to_owned()
        })
        .collect();
    let expected: Vec<String> = (0..20).map(|index| format!("message {index:02}")).collect();
    assert_eq!(subjects, expected);
}

#[tokio::test]
async fn a_bad_sender_is_a_backend_fault() {
    let dir = tempfile::tempdir().unwrap();
    let mailer = FileMailer::new(FileMailerSettings {
        dir: dir.path().to_path_buf(),
        from: "not a mailbox".to_owned(),
    });
    let result = mailer.send(&message("a@example.com", "Hi", "x")).await;
    assert!(matches!(result, Err(NotifyError::Backend(_))));
}

#[tokio::test]
async fn an_unusable_directory_is_a_backend_fault() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let result = mailer_in(&file).send(&message("a@example.com", "Hi", "x")).await;
    assert!(matches!(result, Err(NotifyError::Backend(_))));
}

#[test]
fn default_settings_match_the_documented_configuration() {
    let settings = FileMailerSettings::default();
    assert_eq!(settings.dir, Path::new("var/mail"));
    assert_eq!(settings.from, "Platform <no-reply@localhost>");
}

#[tokio::test]
async fn builds_through_shaku_with_parameters() {
    use shaku::HasComponent;
    shaku::module! {
        TestModule {
            components = [FileMailer],
            providers = []
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let module = TestModule::builder()
        .with_component_parameters::<FileMailer>(FileMailerParameters {
            settings: FileMailerSettings {
                dir: dir.path().to_path_buf(),
                from: "ops@example.com".to_owned(),
            },
        })
        .build();
    let mailer: std::sync::Arc<dyn Mailer> = module.resolve();
    mailer.send(&message("a@example.com", "Hi", "x")).await.unwrap();
    let raw = std::fs::read_to_string(&outbox(dir.path())[0]).unwrap();
    assert_eq!(parse(&raw).header("From"), "ops@example.com");
}
