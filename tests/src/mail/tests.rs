//! The parser against what the platform's configured mailer really writes.

use std::sync::Arc;

use platform_ports::notify::{EmailMessage, Mailer};
use shaku::HasComponent;

use crate::app::TestApp;
use crate::mail::extract_token;

#[tokio::test]
async fn reads_back_what_the_platform_mailer_writes_into_the_apps_own_dir() {
    let app = TestApp::spawn().await.unwrap();
    let other = TestApp::spawn().await.unwrap();
    assert_ne!(app.mail_dir(), other.mail_dir());
    let mailer: Arc<dyn Mailer> = app.module.resolve();
    // Long enough for soft line breaks, non-ASCII for encoded-words.
    let tokens: Vec<String> = (0..3).map(|i| format!("{i}-{}", "t0k-".repeat(30))).collect();
    let subjects = [
        "Vérifiez votre adresse",
        "Verify your email address",
        "Verify your email address",
    ];
    for (subject, token) in subjects.iter().zip(&tokens) {
        mailer
            .send(&EmailMessage {
                to: "zoë@example.com".parse().unwrap(),
                subject: (*subject).to_owned(),
                text: format!("Hello = you\nToken: {token}\nhttp://x/verify-email?token={token}\n"),
                html: Some(format!("<p>Token: html-{token}</p>")),
            })
            .await
            .unwrap();
    }
    let body = app
        .wait_for_mail("ZOË@example.com", "Vérifiez votre adresse")
        .await
        .unwrap();
    assert_eq!(extract_token(&body).unwrap(), tokens[0]);
    assert!(body.contains("Hello = you"), "{body}");
    assert!(body.contains(&format!("/verify-email?token={}", tokens[0])), "{body}");
    // Each message is handed out once, oldest first.
    for token in &tokens[1..] {
        let body = app
            .wait_for_mail("zoë@example.com", "Verify your email address")
            .await
            .unwrap();
        assert_eq!(&extract_token(&body).unwrap(), token);
    }
    assert_eq!(app.mails_to("zoë@example.com").await.unwrap().len(), 3);
    assert!(other.mails().await.unwrap().is_empty());
}
