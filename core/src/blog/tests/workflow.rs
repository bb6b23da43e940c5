//! Publishing, archiving and restoring.

use chrono::{DateTime, Utc};
use platform_ports::blog::BlogService;
use serde_json::json;

use super::*;

/// The repository accepts one update to `status` with this publication time.
fn expect_move(h: &mut Harness, status: PostStatus, published_at: Option<DateTime<Utc>>) {
    h.posts
        .expect_update()
        .withf(move |_, p| p.status == status && p.published_at == published_at && p.updated_at == now())
        .times(1)
        .returning(|_, _| Ok(()));
}

#[tokio::test]
async fn publishing_a_draft_stamps_it_and_announces_it() {
    let mut h = Harness::new().holding(stored(AUTHOR, PostStatus::Draft));
    expect_move(&mut h, PostStatus::Published, Some(now()));
    let (blog, log) = h.build();

    let post = blog
        .transition(&as_user(AUTHOR), POST, PostStatus::Published)
        .await
        .unwrap();

    assert_eq!(post.status, PostStatus::Published);
    assert_eq!(post.published_at, Some(now()));
    assert_eq!(log.outcome(), TxOutcome::Committed);
    assert_eq!(log.actions(), ["blog.post.published"]);
    let entry = &log.audits()[0];
    assert_eq!(
        (&entry.metadata["from"], &entry.metadata["status"]),
        (&json!("draft"), &json!("published"))
    );
    assert_eq!(log.event_types(), ["blog.post.published"]);
    assert_eq!(log.events()[0].data["status"], json!("published"));
}

#[tokio::test]
async fn archiving_is_an_update_event_carrying_the_new_status() {
    let mut h = Harness::new().holding(stored(AUTHOR, PostStatus::Published));
    expect_move(&mut h, PostStatus::Archived, Some(earlier()));
    let (blog, log) = h.build();

    let post = blog
        .transition(&as_user(AUTHOR), POST, PostStatus::Archived)
        .await
        .unwrap();

    assert_eq!(post.status, PostStatus::Archived);
    assert_eq!(log.actions(), ["blog.post.archived"]);
    assert_eq!(log.event_types(), ["blog.post.updated"]);
    assert_eq!(log.events()[0].data["status"], json!("archived"));
}

#[tokio::test]
async fn restoring_returns_an_archived_post_to_draft() {
    let mut h = Harness::new().holding(stored(AUTHOR, PostStatus::Archived));
    // The last publication time is history, kept until the next publication.
    expect_move(&mut h, PostStatus::Draft, Some(earlier()));
    let (blog, log) = h.build();

    let post = blog
        .transition(&as_user(AUTHOR), POST, PostStatus::Draft)
        .await
        .unwrap();

    assert_eq!(post.status, PostStatus::Draft);
    assert_eq!(log.actions(), ["blog.post.restored"]);
    assert_eq!(log.event_types(), ["blog.post.updated"]);
    assert_eq!(log.events()[0].data["status"], json!("draft"));
}

#[tokio::test]
async fn invalid_moves_are_conflicts_that_write_nothing() {
    use PostStatus::{Archived, Draft, Published};
    for (from, to) in [
        (Draft, Archived),
        (Published, Draft),
        (Archived, Published),
        (Draft, Draft),
        (Published, Published),
        (Archived, Archived),
    ] {
        let (blog, log) = Harness::new().holding(stored(AUTHOR, from)).build();

        let err = blog.transition(&as_user(AUTHOR), POST, to).await.unwrap_err();

        assert!(
            matches!(err, BlogError::InvalidTransition { from: f, to: t } if f == from && t == to),
            "{from} -> {to}: {err:?}"
        );
        log.assert_untouched();
    }
}

#[tokio::test]
async fn publishing_another_authors_draft_needs_manage() {
    let (blog, log) = others_post(PostStatus::Draft);

    let err = blog
        .transition(&as_user(OTHER), POST, PostStatus::Published)
        .await
        .unwrap_err();

    // Unseen, so not found rather than forbidden.
    assert!(matches!(err, BlogError::NotFound), "{err:?}");
    log.assert_untouched();
}

#[tokio::test]
async fn archiving_another_authors_published_post_without_manage_is_forbidden() {
    let (blog, log) = others_post(PostStatus::Published);

    let err = blog
        .transition(&as_user(OTHER), POST, PostStatus::Archived)
        .await
        .unwrap_err();

    assert!(matches!(err, BlogError::Forbidden), "{err:?}");
    log.assert_untouched();
}

#[tokio::test]
async fn forbidden_comes_before_the_workflow_check() {
    let (blog, log) = others_post(PostStatus::Published);

    let err = blog
        .transition(&as_user(OTHER), POST, PostStatus::Published)
        .await
        .unwrap_err();

    assert!(matches!(err, BlogError::Forbidden), "{err:?}");
    log.assert_untouched();
}

#[tokio::test]
async fn a_manager_publishes_another_authors_draft() {
    let mut h = Harness::new()
        .holding(stored(AUTHOR, PostStatus::Draft))
        .manager(OTHER, true);
    expect_move(&mut h, PostStatus::Published, Some(now()));
    let (blog, log) = h.build();

    let post = blog
        .transition(&as_user(OTHER), POST, PostStatus::Published)
        .await
        .unwrap();

    assert_eq!(post.author_id, AUTHOR);
    assert_eq!(log.outcome(), TxOutcome::Committed);
    assert_eq!(log.event_types(), ["blog.post.published"]);
}

#[tokio::test]
async fn a_failing_audit_write_rolls_the_move_back() {
    let mut h = Harness::new().holding(stored(AUTHOR, PostStatus::Draft));
    expect_move(&mut h, PostStatus::Published, Some(now()));
    h.audit = platform_ports::audit::MockAuditStore::new();
    h.audit.expect_append().returning(|_, _| Err(broken()));
    let (blog, log) = h.build();

    let err = blog
        .transition(&as_user(AUTHOR), POST, PostStatus::Published)
        .await
        .unwrap_err();

    assert!(matches!(err, BlogError::Backend(_)), "{err:?}");
    assert_eq!(log.outcome(), TxOutcome::RolledBack);
    assert!(log.event_types().is_empty());
}
