//! The digest of new posts end to end: users opt in over HTTP, posts are
//! published over HTTP, a digest tick runs on the app's own job queue and
//! workers, and the mails come out of the configured mailer. Runs on
//! whichever profile the environment selects (memory, or PostgreSQL and
//! the Redis queue).
//!
//! The tick is the job the cron enqueues (`digest:tick` for a period), so
//! the test need not wait for Monday: it enqueues the job of a period that
//! ends after the posts were published.
#![allow(clippy::unwrap_used, reason = "test code: a failed unwrap is a failed test")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use platform_core::notify::digest::{DIGEST_JOB_RETENTION, DIGEST_QUEUE, DIGEST_TASK_TYPE, DigestPeriod, tick_job};
use platform_ports::jobs::{JobError, JobId, JobQueue, JobState, NewJob};
use platform_tests::{Mail, TestApp, expect_json};
use serde_json::json;
use shaku::HasComponent;

const PASSWORD: &str = "correct-horse-battery";
const SUBJECT: &str = "Your Platform digest: 2 new posts";

/// Registers `email` and returns its access token.
async fn user(app: &TestApp, email: &str) -> String {
    app.register(email, PASSWORD).await.unwrap();
    app.login(email, PASSWORD).await.unwrap().access_token
}

async fn publish(app: &TestApp, token: &str, title: &str) {
    let post = expect_json(
        app.post_as(token, "blog/posts", &json!({"title": title, "content": "Hello"}))
            .await
            .unwrap(),
        201,
    )
    .await
    .unwrap();
    let id = post["id"].as_str().unwrap();
    let published = expect_json(
        app.post_as(token, &format!("blog/posts/{id}/publish"), &json!({}))
            .await
            .unwrap(),
        200,
    )
    .await
    .unwrap();
    assert_eq!(published["status"], "published");
}

/// The digest mails in the outbox, by recipient.
async fn digests(app: &TestApp, to: &str) -> Vec<Mail> {
    app.mails_to(to)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.subject().contains("digest"))
        .collect()
}

/// Waits until the job is completed (it is kept after it runs).
async fn wait_completed(jobs: &dyn JobQueue, id: &JobId) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let info = jobs.status(id.clone()).await.unwrap();
        if info.as_ref().is_some_and(|i| i.state == JobState::Completed) {
            return;
        }
        assert!(Instant::now() < deadline, "job {id:?} not completed: {info:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tick_mails_each_opted_in_user_the_new_posts_once() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    let ada = user(&app, "ada@example.com").await;
    let grace = user(&app, "grace@example.com").await;
    let alan = user(&app, "alan@example.com").await;

    // Off by default; two opt in, the third leaves it off.
    assert_eq!(app.me(&alan).await.unwrap()["digest"], false);
    for token in [&ada, &grace] {
        let me = expect_json(
            app.patch_as(token, "users/me", &json!({"digest": true})).await.unwrap(),
            200,
        )
        .await
        .unwrap();
        assert_eq!(me["digest"], true);
    }
    assert_eq!(app.me(&ada).await.unwrap()["digest"], true);
    let start = Utc::now() - chrono::Duration::hours(1);

    publish(&app, &admin, "Notes on the Analytical Engine").await;
    publish(&app, &admin, "Bernoulli numbers").await;
    // A draft is not news.
    expect_json(
        app.post_as(&admin, "blog/posts", &json!({"title": "Unfinished", "content": "…"}))
            .await
            .unwrap(),
        201,
    )
    .await
    .unwrap();

    // The tick the cron would enqueue for a period ending now.
    let jobs: Arc<dyn JobQueue> = app.module.resolve();
    let period = DigestPeriod::new(start, Utc::now()).unwrap();
    let tick = jobs.enqueue(tick_job(period).unwrap()).await.unwrap();
    wait_completed(jobs.as_ref(), &tick).await;

    for to in ["ada@example.com", "grace@example.com"] {
        let mail = app.wait_for_mail_message(to, SUBJECT).await.unwrap();
        for title in ["Notes on the Analytical Engine", "Bernoulli numbers"] {
            assert_eq!(mail.body.matches(title).count(), 1, "{title} in\n{}", mail.body);
        }
        assert!(!mail.body.contains("Unfinished"), "{}", mail.body);
    }

    // The same tick again is refused by its id; a re-run of the period
    // (as a retry would) completes and sends nothing more.
    let again = jobs.enqueue(tick_job(period).unwrap()).await;
    assert!(matches!(again, Err(JobError::IdConflict(_))), "{again:?}");
    let rerun =
        NewJob::new(DIGEST_QUEUE, DIGEST_TASK_TYPE, serde_json::to_vec(&period).unwrap()).retain(DIGEST_JOB_RETENTION);
    let rerun = jobs.enqueue(rerun).await.unwrap();
    wait_completed(jobs.as_ref(), &rerun).await;
    // Anything the re-run had queued would be out by now.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(digests(&app, "ada@example.com").await.len(), 1);
    assert_eq!(digests(&app, "grace@example.com").await.len(), 1);
    assert!(digests(&app, "alan@example.com").await.is_empty());
    assert!(digests(&app, platform_tests::ADMIN_EMAIL).await.is_empty());
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_mailed_when_nothing_was_published() {
    let app = TestApp::spawn().await.unwrap();
    let ada = user(&app, "ada@example.com").await;
    expect_json(
        app.patch_as(&ada, "users/me", &json!({"digest": true})).await.unwrap(),
        200,
    )
    .await
    .unwrap();

    let jobs: Arc<dyn JobQueue> = app.module.resolve();
    let period = DigestPeriod::new(Utc::now() - chrono::Duration::days(7), Utc::now()).unwrap();
    let tick = jobs.enqueue(tick_job(period).unwrap()).await.unwrap();
    wait_completed(jobs.as_ref(), &tick).await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    assert!(digests(&app, "ada@example.com").await.is_empty());
    app.stop().await.unwrap();
}
