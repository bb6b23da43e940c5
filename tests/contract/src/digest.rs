//! What the digest reads and writes: the opt-in flag, the opted-in users of
//! a tenant with their last period, and the posts published in a window.

use std::sync::Arc;

use platform_ports::StoreError;
use platform_ports::blog::{Post, PostRepository, PostStatus};
use platform_ports::identity::{User, UserRepository};
use platform_ports::model::{TenantId, UserId};
use platform_ports::persistence::UnitOfWork;

use crate::fixtures::{at, committed, post, tenant, user};

fn ids(users: &[platform_ports::identity::DigestRecipient]) -> Vec<UserId> {
    users.iter().map(|r| r.user.id).collect()
}

/// The flag round-trips; opted-in users are listed per tenant in id order,
/// page by page, with the last period recorded, which never moves back and
/// survives a profile update.
pub async fn digest_recipients_and_their_periods(users: Arc<dyn UserRepository>, uow: Arc<dyn UnitOfWork>) {
    let (t1, t2, t3) = (tenant(), tenant(), tenant());
    let opted = |t: TenantId, address: &str| User {
        digest: true,
        ..user(t, address)
    };
    let ada = opted(t1, "ada@example.com");
    let alan = user(t1, "alan@example.com");
    let grace = opted(t1, "grace@example.com");
    let zoe = opted(t2, "zoe@example.com");
    let bob = user(t3, "bob@example.com");
    for u in [&ada, &alan, &grace, &zoe, &bob] {
        committed(&*uow, async |tx| users.create(tx, u).await).await.unwrap();
    }
    assert_eq!(users.find_by_id(t1, ada.id).await.unwrap(), Some(ada.clone()));

    let tenants = users.digest_tenants().await.unwrap();
    assert!(tenants.contains(&t1) && tenants.contains(&t2), "{tenants:?}");
    assert!(!tenants.contains(&t3), "{tenants:?}");

    let all = users.digest_recipients(t1, None, 10).await.unwrap();
    assert_eq!(ids(&all), [ada.id, grace.id]);
    assert!(all.iter().all(|r| r.last_period_end.is_none()));
    let first = users.digest_recipients(t1, None, 1).await.unwrap();
    assert_eq!(ids(&first), [ada.id]);
    let rest = users.digest_recipients(t1, Some(ada.id), 10).await.unwrap();
    assert_eq!(ids(&rest), [grace.id]);

    let record = |id: UserId, tenant: TenantId, seconds: i64| {
        let (users, uow) = (users.clone(), uow.clone());
        async move { committed(&*uow, async |tx| users.record_digest(tx, tenant, id, at(seconds)).await).await }
    };
    record(ada.id, t1, 100).await.unwrap();
    record(ada.id, t1, 50).await.unwrap();
    let listed = users.digest_recipients(t1, None, 10).await.unwrap();
    assert_eq!(
        listed[0].last_period_end,
        Some(at(100)),
        "an earlier period moved the record back"
    );
    assert_eq!(listed[1].last_period_end, None);
    record(ada.id, t1, 200).await.unwrap();
    let wrong_tenant = record(ada.id, t2, 300).await;
    assert!(matches!(wrong_tenant, Err(StoreError::NotFound)), "{wrong_tenant:?}");

    // A profile update keeps the bookkeeping; opting out leaves the list.
    let renamed = User {
        display_name: Some("Ada".to_owned()),
        ..ada.clone()
    };
    committed(&*uow, async |tx| users.update(tx, &renamed).await)
        .await
        .unwrap();
    assert_eq!(
        users.digest_recipients(t1, None, 10).await.unwrap()[0].last_period_end,
        Some(at(200))
    );
    let out = User {
        digest: false,
        ..renamed
    };
    committed(&*uow, async |tx| users.update(tx, &out).await).await.unwrap();
    assert_eq!(ids(&users.digest_recipients(t1, None, 10).await.unwrap()), [grace.id]);
    assert!(!users.find_by_id(t1, ada.id).await.unwrap().unwrap().digest);
}

/// Published posts of one tenant, after the start and up to the end of the
/// window, oldest published first, at most `limit`.
pub async fn posts_published_in_a_window(posts: Arc<dyn PostRepository>, uow: Arc<dyn UnitOfWork>) {
    let (t, other) = (tenant(), tenant());
    let author = UserId::new();
    let published = |t: TenantId, seconds: i64| post(t, author, PostStatus::Published, at(seconds));
    let at_start = published(t, 100);
    let inside_late = Post {
        // Created first, published last: the window reads the publication time.
        created_at: at(90),
        ..published(t, 150)
    };
    let inside = published(t, 120);
    let at_end = published(t, 200);
    let after = published(t, 201);
    let draft = post(t, author, PostStatus::Draft, at(130));
    let archived = Post {
        status: PostStatus::Archived,
        ..published(t, 140)
    };
    let foreign = published(other, 130);
    for p in [
        &at_start,
        &inside_late,
        &inside,
        &at_end,
        &after,
        &draft,
        &archived,
        &foreign,
    ] {
        committed(&*uow, async |tx| posts.create(tx, p).await).await.unwrap();
    }

    let window = posts.published_between(t, at(100), at(200), 10).await.unwrap();
    let ids: Vec<_> = window.iter().map(|p| p.id).collect();
    assert_eq!(ids, [inside.id, inside_late.id, at_end.id]);
    assert_eq!(window[0], inside);
    let capped = posts.published_between(t, at(100), at(200), 2).await.unwrap();
    assert_eq!(
        capped.iter().map(|p| p.id).collect::<Vec<_>>(),
        [inside.id, inside_late.id]
    );
    assert!(posts.published_between(t, at(200), at(201), 10).await.unwrap().len() == 1);
    assert!(
        posts
            .published_between(t, at(300), at(400), 10)
            .await
            .unwrap()
            .is_empty()
    );
}
