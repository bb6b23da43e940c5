use std::fs;
use std::path::Path;

use serde_json::json;

use super::*;

fn with_dir(dir: &Path) -> MailTemplateSettings {
    MailTemplateSettings {
        dir: Some(dir.to_path_buf()),
        ..MailTemplateSettings::default()
    }
}

fn write(dir: &Path, path: &str, content: &str) {
    let path = dir.join(path);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

#[test]
fn every_builtin_template_renders_text_and_html() {
    let templates = MailTemplates::builtin().unwrap();
    assert_eq!(templates.names().collect::<Vec<_>>(), {
        let mut names = BUILTIN_TEMPLATES.to_vec();
        names.sort_unstable();
        names
    });
    for name in BUILTIN_TEMPLATES {
        let sample = templates.sample(name).unwrap().clone();
        let mail = templates.render(name, "en", &sample).unwrap();
        assert!(
            !mail.subject.is_empty() && !mail.subject.contains('\n'),
            "{name}: {mail:?}"
        );
        assert!(mail.text.len() > 40, "{name}: {}", mail.text);
        let html = mail.html.unwrap_or_else(|| panic!("{name} has no HTML"));
        assert!(
            html.starts_with("<!DOCTYPE html>") && html.contains("<html lang=\"en\">"),
            "{html}"
        );
        assert!(!html.contains("{{") && !mail.text.contains("{{"), "{name}");
        // The link shows up as it is in the text, escaped in the HTML.
        let link = sample["link"].as_str().unwrap();
        assert!(mail.text.contains(link), "{name}: {}", mail.text);
        assert!(html.contains(&link.replace('/', "&#x2f;")), "{name}: {html}");
    }
}

#[test]
fn verification_and_reset_keep_the_token_line_and_link() {
    let templates = MailTemplates::builtin().unwrap();
    for (name, subject) in [
        ("email_verification", "Verify your email address"),
        ("password_reset", "Reset your password"),
    ] {
        let data = json!({ "token": "T0K", "link": "http://x/l?token=T0K&a=1", "email": "ada@example.com" });
        let mail = templates.render(name, "en", &data).unwrap();
        assert_eq!(mail.subject, subject);
        assert!(mail.text.lines().any(|l| l == "Token: T0K"), "{}", mail.text);
        assert!(
            mail.text.lines().any(|l| l == "http://x/l?token=T0K&a=1"),
            "{}",
            mail.text
        );
        // minijinja escapes `/` too; mail clients decode attributes like browsers do.
        let html = mail.html.unwrap();
        assert!(
            html.contains(r#"href="http:&#x2f;&#x2f;x&#x2f;l?token=T0K&amp;a=1""#),
            "{html}"
        );
    }
}

#[test]
fn html_is_escaped_and_text_is_not() {
    let templates = MailTemplates::builtin().unwrap();
    let data = json!({
        "email": "a@example.com", "since": "2026-11-24", "link": "https://x/settings",
        "posts": [{ "title": "<script>alert(1)</script> & co", "url": "https://x/p/1" }],
    });
    let mail = templates.render("digest", "en", &data).unwrap();
    assert_eq!(mail.subject, "Your Platform digest: 1 new post");
    assert!(mail.text.contains("- <script>alert(1)</script> & co"), "{}", mail.text);
    let html = mail.html.unwrap();
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt; &amp; co"),
        "{html}"
    );
    assert!(!html.contains("<script>"));
}

#[test]
fn the_digest_text_lists_each_post_once() {
    let templates = MailTemplates::builtin().unwrap();
    let sample = templates.sample("digest").unwrap().clone();
    let mail = templates.render("digest", "en", &sample).unwrap();
    assert_eq!(mail.subject, "Your Platform digest: 2 new posts");
    assert_eq!(
        mail.text
            .matches("- Notes on the <Analytical Engine> (Ada Lovelace)")
            .count(),
        1
    );
    assert_eq!(mail.text.matches("https://app.example.com/blog/posts/2").count(), 1);
    assert!(
        mail.text
            .starts_with("Hello Ada Lovelace,\n\nhere is what was published since 2026-11-24:\n"),
        "{}",
        mail.text
    );
}

#[test]
fn missing_data_is_a_render_error_naming_the_template() {
    let templates = MailTemplates::builtin().unwrap();
    let err = templates
        .render("password_reset", "en", &json!({ "email": "a@b.c" }))
        .unwrap_err();
    match err {
        NotifyError::Template { template, reason } => {
            assert_eq!(template, "password_reset");
            assert!(reason.contains("password_reset"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(templates.render("nope", "en", &json!({})), Err(NotifyError::UnknownTemplate(n)) if n == "nope"));
    assert!(matches!(
        templates.render("welcome", "en", &json!([1])),
        Err(NotifyError::Invalid(_))
    ));
}

#[test]
fn optional_fields_may_be_left_out() {
    let templates = MailTemplates::builtin().unwrap();
    let mail = templates
        .render("welcome", "en", &json!({ "email": "a@b.c", "link": "https://x" }))
        .unwrap();
    assert!(mail.text.starts_with("Hello,\n"), "{}", mail.text);
    assert_eq!(mail.subject, "Welcome to Platform");
}

#[test]
fn an_override_directory_replaces_one_file_and_adds_a_locale() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "en/welcome.txt",
        "Bienvenue {{ email }}, from the override.\n",
    );
    write(dir.path(), "fr/welcome.subject.txt", "Bienvenue sur {{ product_name }}");
    write(dir.path(), "fr/welcome.txt", "Bonjour {{ email }} ({{ locale }})\n");
    let settings = MailTemplateSettings {
        product_name: "Acme".into(),
        ..with_dir(dir.path())
    };
    let templates = MailTemplates::load(&settings).unwrap();
    let data = json!({ "email": "a@b.c", "link": "https://x" });
    let en = templates.render("welcome", "en", &data).unwrap();
    assert_eq!(en.text, "Bienvenue a@b.c, from the override.\n");
    assert_eq!(en.subject, "Welcome to Acme");
    assert!(
        en.html
            .unwrap()
            .contains("your account <strong>a@b.c</strong> is ready")
    );
    let fr = templates.render("welcome", "fr-CA", &data).unwrap();
    assert_eq!(
        (fr.subject.as_str(), fr.text.as_str()),
        ("Bienvenue sur Acme", "Bonjour a@b.c (fr)\n")
    );
    assert_eq!(fr.html, None);
    // No German version: English.
    assert_eq!(
        templates.render("welcome", "de_DE", &data).unwrap().subject,
        "Welcome to Acme"
    );
    assert_eq!(templates.locales("welcome").collect::<Vec<_>>(), ["en", "fr"]);
}

#[test]
fn an_override_may_add_a_template_with_its_sample() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "en/invoice.subject.txt", "Invoice {{ number }}");
    write(dir.path(), "en/invoice.txt", "Total: {{ total }}");
    write(
        dir.path(),
        "samples/invoice.json",
        r#"{ "number": "F-1", "total": "12 €" }"#,
    );
    let templates = MailTemplates::load(&with_dir(dir.path())).unwrap();
    let mail = templates
        .render("invoice", "en", &json!({ "number": "F-2", "total": "3 €" }))
        .unwrap();
    assert_eq!(
        (mail.subject.as_str(), mail.text.as_str()),
        ("Invoice F-2", "Total: 3 €")
    );

    fs::remove_file(dir.path().join("samples/invoice.json")).unwrap();
    let err = MailTemplates::load(&with_dir(dir.path())).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("mail template `invoice` is broken: no sample data"),
        "{err}"
    );
}

#[test]
fn a_broken_override_fails_the_check_naming_the_template() {
    let cases = [
        (
            "en/password_changed.html",
            "{% if %}",
            "password_changed",
            "syntax error",
        ),
        ("en/welcome.txt", "Hello {{ nickname }}", "welcome", "undefined"),
        (
            "en/digest.txt",
            "{% for p in posts %}{{ p.missing }}{% endfor %}",
            "digest",
            "undefined",
        ),
        (
            "layout.html",
            "{% block content %}{% endblock",
            "layout.html",
            "syntax error",
        ),
        (
            "fr/welcome.subject.txt",
            "Bienvenue",
            "welcome",
            "missing `fr/welcome.txt`",
        ),
        ("samples/welcome.json", "{}", "welcome", "platform's own sample data"),
        ("samples/extra.json", "{ not json", "extra", "samples/extra.json"),
    ];
    for (path, content, template, reason) in cases {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), path, content);
        let err = MailTemplates::load(&with_dir(dir.path())).unwrap_err();
        let TemplateLoadError::Broken {
            template: named,
            reason: why,
        } = &err
        else {
            panic!("{path}: {err:?}")
        };
        assert_eq!(named, template, "{path}: {err}");
        assert!(why.contains(reason), "{path}: {err}");
    }
}

#[test]
fn a_template_only_in_another_locale_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "fr/promo.subject.txt", "Promo");
    write(dir.path(), "fr/promo.txt", "Promo");
    write(dir.path(), "samples/promo.json", "{}");
    let err = MailTemplates::load(&with_dir(dir.path())).unwrap_err();
    assert!(err.to_string().contains("`promo` is broken: no `en` version"), "{err}");
}

#[test]
fn an_unreadable_directory_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let err = MailTemplates::load(&with_dir(&missing)).unwrap_err();
    assert!(
        matches!(&err, TemplateLoadError::Io { path, .. } if path == &missing),
        "{err:?}"
    );
}

#[test]
fn files_are_classified_by_locale_name_and_part() {
    use source::{Part, classify, is_locale};
    assert_eq!(
        classify("en/welcome.subject.txt"),
        Some(("en", "welcome", Part::Subject))
    );
    assert_eq!(classify("pt-BR/welcome.txt"), Some(("pt-BR", "welcome", Part::Text)));
    assert_eq!(classify("en/welcome.html"), Some(("en", "welcome", Part::Html)));
    for other in [
        "layout.html",
        "partials/footer.html",
        "samples/welcome.json",
        "en/x/y.txt",
        "EN/a.txt",
    ] {
        assert_eq!(classify(other), None, "{other}");
    }
    assert!(is_locale("zh-Hant-TW") && !is_locale("english") && !is_locale("e"));
}
