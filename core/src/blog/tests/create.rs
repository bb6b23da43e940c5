//! Writing drafts.

use platform_ports::blog::BlogService;
use platform_ports::events::MockOutbox;
use serde_json::json;

use super::*;

#[tokio::test]
async fn a_new_post_is_a_draft_of_the_caller_recorded_in_one_unit_of_work() {
    let mut h = Harness::new();
    h.posts
        .expect_create()
        .withf(|_, p| p.author_id == AUTHOR && p.tenant_id == TENANT && p.status == PostStatus::Draft)
        .times(1)
        .returning(|_, _| Ok(()));
    let (blog, log) = h.build();

    let post = blog
        .create(
            &as_user(AUTHOR),
            input("  Hello, world  ", &["Rust", " rust ", "web-dev"]),
        )
        .await
        .unwrap();

    assert_eq!(post.title, "Hello, world");
    assert_eq!(post.tags, ["rust", "web-dev"]);
    assert_eq!(post.status, PostStatus::Draft);
    assert_eq!(
        (post.created_at, post.updated_at, post.published_at),
        (now(), now(), None)
    );
    assert_eq!(log.outcome(), TxOutcome::Committed);
    assert_eq!(log.begins(), 1);
    assert_eq!(log.actions(), ["blog.post.created"]);
    let entry = &log.audits()[0];
    assert_eq!(entry.actor_id, Some(AUTHOR));
    assert_eq!(entry.target_id, Some(post.id.to_string()));
    assert_eq!(entry.metadata["status"], json!("draft"));
    let events = log.events();
    assert_eq!(log.event_types(), ["blog.post.created"]);
    assert_eq!(events[0].source, "blog");
    assert_eq!(events[0].tenant_id, TENANT);
    assert_eq!(events[0].aggregate_id, Some(post.id.to_string()));
    assert_eq!(
        events[0].data,
        json!({
            "id": post.id,
            "title": "Hello, world",
            "status": "draft",
            "author_id": AUTHOR,
            "tags": ["rust", "web-dev"],
        })
    );
}

#[tokio::test]
async fn invalid_input_is_refused_before_anything_is_written() {
    let cases: [(PostInput, &[(&str, &str)]); 4] = [
        (input("   ", &[]), &[("title", "required")]),
        (input(&"t".repeat(201), &[]), &[("title", "too_long")]),
        (
            PostInput {
                content: "x".repeat(100_001),
                ..input("ok", &[])
            },
            &[("content", "too_long")],
        ),
        (input("", &["not a tag"]), &[("title", "required"), ("tags", "invalid")]),
    ];
    for (bad, expected) in cases {
        let (blog, log) = Harness::new().build();

        let errors = field_errors(blog.create(&as_user(AUTHOR), bad).await);

        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
            .collect();
        assert_eq!(errors, expected);
        log.assert_untouched();
    }
}

#[tokio::test]
async fn more_than_twenty_tags_are_refused() {
    let tags: Vec<String> = (0..21).map(|i| format!("tag{i}")).collect();
    let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
    let (blog, log) = Harness::new().build();

    let errors = field_errors(blog.create(&as_user(AUTHOR), input("ok", &tags)).await);

    assert_eq!(errors, [("tags".to_owned(), "invalid".to_owned())]);
    log.assert_untouched();
}

#[tokio::test]
async fn an_anonymous_caller_cannot_write() {
    let (blog, log) = Harness::new().build();

    let err = blog.create(&anonymous(), input("Hello", &[])).await.unwrap_err();

    assert!(matches!(err, BlogError::Unauthenticated), "{err:?}");
    log.assert_untouched();
}

#[tokio::test]
async fn a_repository_failure_is_a_backend_error_and_rolls_back() {
    let mut h = Harness::new();
    h.posts.expect_create().returning(|_, _| Err(broken()));
    let (blog, log) = h.build();

    let err = blog.create(&as_user(AUTHOR), input("Hello", &[])).await.unwrap_err();

    assert!(matches!(err, BlogError::Backend(_)), "{err:?}");
    assert_eq!(log.outcome(), TxOutcome::RolledBack);
    assert!(log.actions().is_empty());
}

#[tokio::test]
async fn an_outbox_failure_undoes_the_post_and_its_audit_entry() {
    let mut h = Harness::new();
    h.posts.expect_create().returning(|_, _| Ok(()));
    h.outbox = MockOutbox::new();
    h.outbox.expect_enqueue().returning(|_, _, _| Err(broken()));
    let (blog, log) = h.build();

    let err = blog.create(&as_user(AUTHOR), input("Hello", &[])).await.unwrap_err();

    assert!(matches!(err, BlogError::Backend(_)), "{err:?}");
    // The entry reached the transaction, which then rolled back with it.
    assert_eq!(log.actions(), ["blog.post.created"]);
    assert_eq!(log.outcome(), TxOutcome::RolledBack);
}
