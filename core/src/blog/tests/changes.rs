//! Updating and deleting: owners, managers, and everyone else.

use platform_ports::blog::BlogService;
use serde_json::json;

use super::*;

#[tokio::test]
async fn an_author_updates_their_post() {
    let mut h = Harness::new().holding(stored(AUTHOR, PostStatus::Published));
    h.posts
        .expect_update()
        .withf(|_, p| p.title == "Hello again" && p.tags == ["rust", "news"])
        .times(1)
        .returning(|_, _| Ok(()));
    let (blog, log) = h.build();
    let changed = PostInput {
        content: "First post.".to_owned(),
        ..input(" Hello again ", &["rust", "News"])
    };

    let post = blog.update(&as_user(AUTHOR), POST, changed).await.unwrap();

    assert_eq!(post.title, "Hello again");
    assert_eq!(post.updated_at, now());
    assert_eq!(
        (post.created_at, post.published_at, post.status),
        (earlier(), Some(earlier()), PostStatus::Published)
    );
    assert_eq!(log.outcome(), TxOutcome::Committed);
    assert_eq!(log.actions(), ["blog.post.updated"]);
    assert_eq!(log.audits()[0].metadata["fields"], json!(["title", "tags"]));
    assert_eq!(log.event_types(), ["blog.post.updated"]);
    assert_eq!(log.events()[0].data["title"], json!("Hello again"));
}

#[tokio::test]
async fn an_update_that_changes_nothing_writes_nothing() {
    let (blog, log) = Harness::new().holding(stored(AUTHOR, PostStatus::Draft)).build();
    let same = PostInput {
        content: "First post.".to_owned(),
        ..input("Hello", &["Rust"])
    };

    let post = blog.update(&as_user(AUTHOR), POST, same).await.unwrap();

    assert_eq!(post, stored(AUTHOR, PostStatus::Draft));
    log.assert_untouched();
}

#[tokio::test]
async fn another_author_without_manage_is_forbidden_and_nothing_is_written() {
    let (blog, log) = others_post(PostStatus::Published);

    let err = blog
        .update(&as_user(OTHER), POST, input("Mine now", &[]))
        .await
        .unwrap_err();

    assert!(matches!(err, BlogError::Forbidden), "{err:?}");
    log.assert_untouched();
}

#[tokio::test]
async fn another_authors_draft_is_not_found_rather_than_forbidden() {
    let (blog, log) = others_post(PostStatus::Draft);

    let err = blog
        .update(&as_user(OTHER), POST, input("Mine now", &[]))
        .await
        .unwrap_err();

    assert!(matches!(err, BlogError::NotFound), "{err:?}");
    log.assert_untouched();
}

#[tokio::test]
async fn a_manager_updates_another_authors_draft_keeping_its_author() {
    let mut h = Harness::new()
        .holding(stored(AUTHOR, PostStatus::Draft))
        .manager(OTHER, true);
    h.posts
        .expect_update()
        .withf(|_, p| p.author_id == AUTHOR && p.title == "Edited")
        .times(1)
        .returning(|_, _| Ok(()));
    let (blog, log) = h.build();

    let post = blog.update(&as_user(OTHER), POST, input("Edited", &[])).await.unwrap();

    assert_eq!(post.author_id, AUTHOR);
    assert_eq!(log.outcome(), TxOutcome::Committed);
    assert_eq!(log.audits()[0].actor_id, Some(OTHER));
}

#[tokio::test]
async fn invalid_updates_are_refused_before_the_post_is_read() {
    let (blog, log) = Harness::new().build();

    let errors = field_errors(blog.update(&as_user(AUTHOR), POST, input("", &[])).await);

    assert_eq!(errors, [("title".to_owned(), "required".to_owned())]);
    log.assert_untouched();
}

#[tokio::test]
async fn a_post_deleted_meanwhile_is_not_found_and_rolls_back() {
    let mut h = Harness::new().holding(stored(AUTHOR, PostStatus::Draft));
    h.posts.expect_update().returning(|_, _| Err(StoreError::NotFound));
    let (blog, log) = h.build();

    let err = blog
        .update(&as_user(AUTHOR), POST, input("Edited", &[]))
        .await
        .unwrap_err();

    assert!(matches!(err, BlogError::NotFound), "{err:?}");
    assert_eq!(log.outcome(), TxOutcome::RolledBack);
    assert!(log.actions().is_empty());
}

#[tokio::test]
async fn a_failing_update_is_a_backend_error_and_rolls_back() {
    let mut h = Harness::new().holding(stored(AUTHOR, PostStatus::Draft));
    h.posts.expect_update().returning(|_, _| Err(broken()));
    let (blog, log) = h.build();

    let err = blog
        .update(&as_user(AUTHOR), POST, input("Edited", &[]))
        .await
        .unwrap_err();

    assert!(matches!(err, BlogError::Backend(_)), "{err:?}");
    assert_eq!(log.outcome(), TxOutcome::RolledBack);
}

#[tokio::test]
async fn an_author_deletes_their_post() {
    let mut h = Harness::new().holding(stored(AUTHOR, PostStatus::Draft));
    h.posts
        .expect_delete()
        .withf(|_, tenant, id| *tenant == TENANT && *id == POST)
        .times(1)
        .returning(|_, _, _| Ok(()));
    let (blog, log) = h.build();

    blog.delete(&as_user(AUTHOR), POST).await.unwrap();

    assert_eq!(log.outcome(), TxOutcome::Committed);
    assert_eq!(log.actions(), ["blog.post.deleted"]);
    assert_eq!(log.audits()[0].target_id, Some(POST.to_string()));
    assert_eq!(log.event_types(), ["blog.post.deleted"]);
    assert_eq!(log.events()[0].aggregate_id, Some(POST.to_string()));
}

#[tokio::test]
async fn deleting_another_authors_post_needs_manage() {
    let (blog, log) = others_post(PostStatus::Published);

    let err = blog.delete(&as_user(OTHER), POST).await.unwrap_err();

    assert!(matches!(err, BlogError::Forbidden), "{err:?}");
    log.assert_untouched();
}

#[tokio::test]
async fn a_manager_deletes_another_authors_post() {
    let mut h = Harness::new()
        .holding(stored(AUTHOR, PostStatus::Archived))
        .manager(OTHER, true);
    h.posts.expect_delete().times(1).returning(|_, _, _| Ok(()));
    let (blog, log) = h.build();

    blog.delete(&as_user(OTHER), POST).await.unwrap();

    assert_eq!(log.outcome(), TxOutcome::Committed);
    assert_eq!(log.event_types(), ["blog.post.deleted"]);
}

#[tokio::test]
async fn deleting_a_missing_post_is_not_found() {
    let mut h = Harness::new();
    h.posts.expect_find_by_id().returning(|_, _| Ok(None));
    let (blog, log) = h.build();

    let err = blog.delete(&as_user(AUTHOR), POST).await.unwrap_err();

    assert!(matches!(err, BlogError::NotFound), "{err:?}");
    log.assert_untouched();
}

#[tokio::test]
async fn changes_need_a_caller() {
    let (blog, log) = Harness::new().build();

    let update = blog.update(&anonymous(), POST, input("x", &[])).await.unwrap_err();
    let delete = blog.delete(&anonymous(), POST).await.unwrap_err();
    let publish = blog
        .transition(&anonymous(), POST, PostStatus::Published)
        .await
        .unwrap_err();

    for err in [update, delete, publish] {
        assert!(matches!(err, BlogError::Unauthenticated), "{err:?}");
    }
    log.assert_untouched();
}
