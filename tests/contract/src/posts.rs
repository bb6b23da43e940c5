//! The post repository: CRUD, tenant isolation, filters with draft
//! visibility, and newest-first paging.

use std::sync::Arc;

use platform_ports::StoreError;
use platform_ports::blog::PostRepository;
use platform_ports::blog::{Post, PostFilter, PostStatus};
use platform_ports::model::{PageRequest, PostId, TenantId, UserId};
use platform_ports::persistence::UnitOfWork;

use crate::fixtures::{at, committed, post, tenant};

async fn all(posts: &dyn PostRepository, t: TenantId, filter: &PostFilter, limit: u32) -> Vec<Post> {
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = posts.list(t, filter, &PageRequest { limit, cursor }).await.unwrap();
        assert!(page.items.len() <= limit as usize);
        seen.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return seen,
        }
    }
}

fn ids(posts: &[Post]) -> Vec<PostId> {
    posts.iter().map(|p| p.id).collect()
}

/// Create, find, update, delete; an id is stored once.
pub async fn post_crud(posts: Arc<dyn PostRepository>, uow: Arc<dyn UnitOfWork>) {
    let t = tenant();
    let draft = post(t, UserId::new(), PostStatus::Draft, at(1));
    committed(&*uow, async |tx| posts.create(tx, &draft).await)
        .await
        .unwrap();
    assert_eq!(posts.find_by_id(t, draft.id).await.unwrap(), Some(draft.clone()));
    let dup = committed(&*uow, async |tx| posts.create(tx, &draft).await).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");

    let published = Post {
        title: "Hello".to_owned(),
        status: PostStatus::Published,
        tags: vec!["rust".to_owned()],
        published_at: Some(at(5)),
        updated_at: at(5),
        ..draft.clone()
    };
    committed(&*uow, async |tx| posts.update(tx, &published).await)
        .await
        .unwrap();
    assert_eq!(posts.find_by_id(t, draft.id).await.unwrap(), Some(published.clone()));
    let listed = all(&*posts, t, &PostFilter::default(), 10).await;
    assert_eq!(listed, vec![published.clone()]);

    let ghost = post(t, UserId::new(), PostStatus::Draft, at(2));
    let missing = committed(&*uow, async |tx| posts.update(tx, &ghost).await).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    committed(&*uow, async |tx| posts.delete(tx, t, draft.id).await)
        .await
        .unwrap();
    assert_eq!(posts.find_by_id(t, draft.id).await.unwrap(), None);
    assert!(
        all(
            &*posts,
            t,
            &PostFilter {
                include_all_drafts: true,
                ..PostFilter::default()
            },
            10
        )
        .await
        .is_empty()
    );
    let again = committed(&*uow, async |tx| posts.delete(tx, t, draft.id).await).await;
    assert!(matches!(again, Err(StoreError::NotFound)), "{again:?}");
}

/// Tenant A neither sees nor changes tenant B's posts.
pub async fn posts_isolated_by_tenant(posts: Arc<dyn PostRepository>, uow: Arc<dyn UnitOfWork>) {
    let (a, b) = (tenant(), tenant());
    let theirs = post(b, UserId::new(), PostStatus::Published, at(1));
    committed(&*uow, async |tx| posts.create(tx, &theirs).await)
        .await
        .unwrap();

    assert_eq!(posts.find_by_id(a, theirs.id).await.unwrap(), None);
    let everything = PostFilter {
        include_all_drafts: true,
        ..PostFilter::default()
    };
    assert!(all(&*posts, a, &everything, 10).await.is_empty());
    let hijack = Post {
        tenant_id: a,
        title: "mine".to_owned(),
        ..theirs.clone()
    };
    let updated = committed(&*uow, async |tx| posts.update(tx, &hijack).await).await;
    assert!(matches!(updated, Err(StoreError::NotFound)), "{updated:?}");
    let deleted = committed(&*uow, async |tx| posts.delete(tx, a, theirs.id).await).await;
    assert!(matches!(deleted, Err(StoreError::NotFound)), "{deleted:?}");
    assert_eq!(posts.find_by_id(b, theirs.id).await.unwrap(), Some(theirs));
}

/// Status, author and tag filters; unpublished posts (drafts, archived) show
/// only to their author or when all drafts are asked for.
pub async fn posts_filters_and_draft_visibility(posts: Arc<dyn PostRepository>, uow: Arc<dyn UnitOfWork>) {
    let t = tenant();
    let (ada, alan) = (UserId::new(), UserId::new());
    let ada_live = Post {
        tags: vec!["rust".to_owned(), "db".to_owned()],
        ..post(t, ada, PostStatus::Published, at(1))
    };
    let ada_draft = Post {
        tags: vec!["rust".to_owned()],
        ..post(t, ada, PostStatus::Draft, at(2))
    };
    let alan_draft = post(t, alan, PostStatus::Draft, at(3));
    let alan_old = post(t, alan, PostStatus::Archived, at(4));
    committed(&*uow, async |tx| {
        for p in [&ada_live, &ada_draft, &alan_draft, &alan_old] {
            posts.create(tx, p).await?;
        }
        Ok(())
    })
    .await
    .unwrap();
    let query = async |filter: PostFilter| ids(&all(&*posts, t, &filter, 1).await);
    let none = PostFilter::default();

    assert_eq!(query(none.clone()).await, vec![ada_live.id]);
    let as_ada = PostFilter {
        viewer_id: Some(ada),
        ..none.clone()
    };
    assert_eq!(query(as_ada.clone()).await, vec![ada_draft.id, ada_live.id]);
    let manager = PostFilter {
        include_all_drafts: true,
        ..none.clone()
    };
    assert_eq!(
        query(manager.clone()).await,
        vec![alan_old.id, alan_draft.id, ada_draft.id, ada_live.id]
    );

    let drafts = PostFilter {
        status: Some(PostStatus::Draft),
        ..as_ada.clone()
    };
    assert_eq!(query(drafts).await, vec![ada_draft.id]);
    let by_alan = PostFilter {
        author_id: Some(alan),
        ..as_ada.clone()
    };
    assert!(query(by_alan).await.is_empty());
    let by_alan_all = PostFilter {
        author_id: Some(alan),
        ..manager.clone()
    };
    assert_eq!(query(by_alan_all).await, vec![alan_old.id, alan_draft.id]);
    let rust = PostFilter {
        tag: Some("rust".to_owned()),
        ..none.clone()
    };
    assert_eq!(query(rust).await, vec![ada_live.id]);
    let rust_for_ada = PostFilter {
        tag: Some("rust".to_owned()),
        ..as_ada
    };
    assert_eq!(query(rust_for_ada).await, vec![ada_draft.id, ada_live.id]);
    let published = PostFilter {
        status: Some(PostStatus::Published),
        ..manager
    };
    assert_eq!(query(published).await, vec![ada_live.id]);
}

/// Paging visits every post once, newest first; a foreign cursor is refused.
pub async fn posts_pages_walk_every_post_once(posts: Arc<dyn PostRepository>, uow: Arc<dyn UnitOfWork>) {
    let t = tenant();
    let author = UserId::new();
    // Pairs share a creation time, so pages split between equal timestamps.
    let created: Vec<Post> = (0..41)
        .map(|i| post(t, author, PostStatus::Published, at(i / 2)))
        .collect();
    committed(&*uow, async |tx| {
        for p in &created {
            posts.create(tx, p).await?;
        }
        Ok(())
    })
    .await
    .unwrap();
    let seen = all(&*posts, t, &PostFilter::default(), 4).await;
    assert_eq!(seen.len(), created.len());
    assert!(
        seen.windows(2).all(|w| w[0].created_at >= w[1].created_at),
        "not newest first"
    );
    let mut seen_ids = ids(&seen);
    seen_ids.sort();
    seen_ids.dedup();
    assert_eq!(seen_ids.len(), created.len(), "a post was served twice");

    let bad = posts
        .list(
            t,
            &PostFilter::default(),
            &PageRequest {
                limit: 5,
                cursor: Some("@@".to_owned()),
            },
        )
        .await;
    assert!(matches!(bad, Err(StoreError::Conflict(_))), "{bad:?}");
}
