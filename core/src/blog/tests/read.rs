//! Who sees which post: `get` and `list`.

use platform_ports::authz::AuthzError;
use platform_ports::blog::BlogService;
use platform_ports::blog::PostFilter;
use platform_ports::model::{Page, PageRequest};

use super::*;

#[tokio::test]
async fn anyone_reads_a_published_post_without_asking_the_resolver() {
    let (blog, log) = Harness::new().holding(stored(AUTHOR, PostStatus::Published)).build();

    let post = blog.get(&as_user(OTHER), POST).await.unwrap();

    assert_eq!(post, stored(AUTHOR, PostStatus::Published));
    log.assert_untouched();
}

#[tokio::test]
async fn authors_read_their_own_drafts() {
    let (blog, _) = Harness::new().holding(stored(AUTHOR, PostStatus::Draft)).build();

    let post = blog.get(&as_user(AUTHOR), POST).await.unwrap();

    assert_eq!(post.status, PostStatus::Draft);
}

#[tokio::test]
async fn another_authors_unpublished_post_is_not_found_without_manage() {
    for status in [PostStatus::Draft, PostStatus::Archived] {
        let (blog, _) = others_post(status);

        let err = blog.get(&as_user(OTHER), POST).await.unwrap_err();

        assert!(matches!(err, BlogError::NotFound), "{status}: {err:?}");
    }
}

#[tokio::test]
async fn managers_read_every_draft() {
    let (blog, _) = Harness::new()
        .holding(stored(AUTHOR, PostStatus::Draft))
        .manager(OTHER, true)
        .build();

    let post = blog.get(&as_user(OTHER), POST).await.unwrap();

    assert_eq!(post.author_id, AUTHOR);
}

#[tokio::test]
async fn a_missing_post_is_not_found() {
    let mut h = Harness::new();
    h.posts.expect_find_by_id().returning(|_, _| Ok(None));
    let (blog, _) = h.build();

    let err = blog.get(&as_user(AUTHOR), POST).await.unwrap_err();

    assert!(matches!(err, BlogError::NotFound), "{err:?}");
}

#[tokio::test]
async fn reading_needs_a_caller() {
    let (blog, _) = Harness::new().build();

    let err = blog.get(&anonymous(), POST).await.unwrap_err();

    assert!(matches!(err, BlogError::Unauthenticated), "{err:?}");
}

#[tokio::test]
async fn a_resolver_failure_is_a_backend_error() {
    let mut h = Harness::new().holding(stored(AUTHOR, PostStatus::Draft));
    h.resolver
        .expect_has_permission()
        .returning(|_, _, _| Err(AuthzError::Backend("cache down".into())));
    let (blog, _) = h.build();

    let err = blog.get(&as_user(OTHER), POST).await.unwrap_err();

    assert!(matches!(err, BlogError::Backend(_)), "{err:?}");
}

/// A repository whose `list` expects exactly `filter` and answers `items`.
fn listing(h: &mut Harness, filter: PostFilter, items: Vec<Post>) {
    h.posts
        .expect_list()
        .withf(move |tenant, f, page| *tenant == TENANT && *f == filter && page.limit == 10)
        .times(1)
        .returning(move |_, _, _| {
            Ok(Page {
                items: items.clone(),
                next_cursor: Some("next".to_owned()),
            })
        });
}

fn page() -> PageRequest {
    PageRequest::new(Some(10), None).unwrap()
}

#[tokio::test]
async fn a_reader_lists_as_themselves_and_cannot_ask_for_others_drafts() {
    let mut h = Harness::new().manager(OTHER, false);
    let expected = PostFilter {
        status: Some(PostStatus::Published),
        author_id: Some(AUTHOR),
        tag: Some("rust".to_owned()),
        include_all_drafts: false,
        viewer_id: Some(OTHER),
    };
    listing(&mut h, expected, vec![stored(AUTHOR, PostStatus::Published)]);
    let (blog, _) = h.build();
    let asked = PostFilter {
        status: Some(PostStatus::Published),
        author_id: Some(AUTHOR),
        tag: Some(" Rust ".to_owned()),
        include_all_drafts: true,
        viewer_id: Some(AUTHOR),
    };

    let found = blog.list(&as_user(OTHER), asked, page()).await.unwrap();

    assert_eq!(found.items.len(), 1);
    assert_eq!(found.next_cursor.as_deref(), Some("next"));
}

#[tokio::test]
async fn a_manager_lists_every_draft() {
    let mut h = Harness::new().manager(OTHER, true);
    let expected = PostFilter {
        include_all_drafts: true,
        viewer_id: Some(OTHER),
        ..PostFilter::default()
    };
    let items = vec![stored(AUTHOR, PostStatus::Draft), stored(AUTHOR, PostStatus::Archived)];
    listing(&mut h, expected, items.clone());
    let (blog, _) = h.build();

    let found = blog.list(&as_user(OTHER), PostFilter::default(), page()).await.unwrap();

    assert_eq!(found.items, items);
}

#[tokio::test]
async fn a_reader_never_gets_another_authors_unpublished_posts() {
    let mut h = Harness::new().manager(OTHER, false);
    let expected = PostFilter {
        viewer_id: Some(OTHER),
        ..PostFilter::default()
    };
    let published = stored(AUTHOR, PostStatus::Published);
    let own_draft = stored(OTHER, PostStatus::Draft);
    let items = vec![
        published.clone(),
        stored(AUTHOR, PostStatus::Archived),
        own_draft.clone(),
    ];
    listing(&mut h, expected, items);
    let (blog, _) = h.build();

    let found = blog.list(&as_user(OTHER), PostFilter::default(), page()).await.unwrap();

    assert_eq!(found.items, [published, own_draft]);
    assert_eq!(found.next_cursor.as_deref(), Some("next"));
}

#[tokio::test]
async fn a_foreign_cursor_is_a_validation_error() {
    let mut h = Harness::new().manager(AUTHOR, false);
    h.posts
        .expect_list()
        .returning(|_, _, _| Err(StoreError::Conflict("cursor".to_owned())));
    let (blog, _) = h.build();

    let result = blog.list(&as_user(AUTHOR), PostFilter::default(), page()).await;

    assert_eq!(field_errors(result), [("cursor".to_owned(), "invalid".to_owned())]);
}

#[tokio::test]
async fn a_failing_list_is_a_backend_error() {
    let mut h = Harness::new().manager(AUTHOR, false);
    h.posts.expect_list().returning(|_, _, _| Err(broken()));
    let (blog, _) = h.build();

    let err = blog
        .list(&as_user(AUTHOR), PostFilter::default(), page())
        .await
        .unwrap_err();

    assert!(matches!(err, BlogError::Backend(_)), "{err:?}");
}

#[tokio::test]
async fn listing_needs_a_caller() {
    let (blog, _) = Harness::new().build();

    let err = blog
        .list(&anonymous(), PostFilter::default(), page())
        .await
        .unwrap_err();

    assert!(matches!(err, BlogError::Unauthenticated), "{err:?}");
}
