//! The user repository: CRUD, email uniqueness, tenant isolation, filters
//! and keyset paging.

use std::sync::Arc;

use platform_ports::StoreError;
use platform_ports::identity::{RoleRepository, UserRepository};
use platform_ports::identity::{User, UserFilter};
use platform_ports::model::{PageRequest, UserId};
use platform_ports::persistence::UnitOfWork;

use crate::fixtures::{committed, email, role, tenant, user};

/// Create, find by id and email, update, delete.
pub async fn user_crud_round_trip(users: Arc<dyn UserRepository>, uow: Arc<dyn UnitOfWork>) {
    let t = tenant();
    let ada = user(t, "ada@example.com");
    committed(&*uow, async |tx| users.create(tx, &ada).await).await.unwrap();
    assert_eq!(users.find_by_id(t, ada.id).await.unwrap(), Some(ada.clone()));
    assert_eq!(
        users.find_by_email(t, &email("ADA@example.com")).await.unwrap(),
        Some(ada.clone())
    );

    let changed = User {
        email: email("countess@example.com"),
        display_name: Some("Ada".to_owned()),
        email_verified: true,
        ..ada.clone()
    };
    committed(&*uow, async |tx| users.update(tx, &changed).await)
        .await
        .unwrap();
    assert_eq!(users.find_by_id(t, ada.id).await.unwrap(), Some(changed.clone()));
    assert_eq!(
        users.find_by_email(t, &ada.email).await.unwrap(),
        None,
        "old email still indexed"
    );
    assert_eq!(
        users.find_by_email(t, &changed.email).await.unwrap(),
        Some(changed.clone())
    );

    committed(&*uow, async |tx| users.delete(tx, t, ada.id).await)
        .await
        .unwrap();
    assert_eq!(users.find_by_id(t, ada.id).await.unwrap(), None);
    assert_eq!(users.find_by_email(t, &changed.email).await.unwrap(), None);
    let again = committed(&*uow, async |tx| users.delete(tx, t, ada.id).await).await;
    assert!(matches!(again, Err(StoreError::NotFound)), "{again:?}");
    let missing = committed(&*uow, async |tx| users.update(tx, &changed).await).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
}

/// An email is taken once per tenant (emails are normalized), on create and update.
pub async fn email_unique_per_tenant(users: Arc<dyn UserRepository>, uow: Arc<dyn UnitOfWork>) {
    let (a, b) = (tenant(), tenant());
    let ada = user(a, "ada@example.com");
    let grace = user(a, "grace@example.com");
    committed(&*uow, async |tx| {
        users.create(tx, &ada).await?;
        users.create(tx, &grace).await
    })
    .await
    .unwrap();

    let twin = user(a, " ADA@Example.com ");
    let dup = committed(&*uow, async |tx| users.create(tx, &twin).await).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    assert_eq!(users.find_by_id(a, twin.id).await.unwrap(), None);

    let elsewhere = user(b, "ada@example.com");
    committed(&*uow, async |tx| users.create(tx, &elsewhere).await)
        .await
        .unwrap();

    let steal = User {
        email: ada.email.clone(),
        ..grace.clone()
    };
    let taken = committed(&*uow, async |tx| users.update(tx, &steal).await).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    assert_eq!(users.find_by_id(a, grace.id).await.unwrap(), Some(grace));
    assert_eq!(users.find_by_email(a, &ada.email).await.unwrap(), Some(ada));
}

/// Tenant A neither sees nor changes tenant B's users.
pub async fn users_isolated_by_tenant(users: Arc<dyn UserRepository>, uow: Arc<dyn UnitOfWork>) {
    let (a, b) = (tenant(), tenant());
    let bob = user(b, "bob@example.com");
    committed(&*uow, async |tx| users.create(tx, &bob).await).await.unwrap();

    assert_eq!(users.find_by_id(a, bob.id).await.unwrap(), None);
    assert_eq!(users.find_by_email(a, &bob.email).await.unwrap(), None);
    let listed = users
        .list(a, &UserFilter::default(), &PageRequest::default())
        .await
        .unwrap();
    assert!(listed.items.is_empty());

    let hijack = User {
        tenant_id: a,
        display_name: Some("mine".to_owned()),
        ..bob.clone()
    };
    let updated = committed(&*uow, async |tx| users.update(tx, &hijack).await).await;
    assert!(matches!(updated, Err(StoreError::NotFound)), "{updated:?}");
    let deleted = committed(&*uow, async |tx| users.delete(tx, a, bob.id).await).await;
    assert!(matches!(deleted, Err(StoreError::NotFound)), "{deleted:?}");
    assert_eq!(users.find_by_id(b, bob.id).await.unwrap(), Some(bob));
}

/// Walks `list` page by page; returns every user seen, in order.
async fn walk(
    users: &dyn UserRepository,
    t: platform_ports::model::TenantId,
    filter: &UserFilter,
    limit: u32,
) -> Vec<User> {
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = users.list(t, filter, &PageRequest { limit, cursor }).await.unwrap();
        assert!(page.items.len() <= limit as usize);
        seen.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return seen,
        }
    }
}

/// Paging returns every user exactly once, oldest first, and users created
/// mid-walk do not shift the pages already served.
pub async fn users_pages_walk_every_user_once(users: Arc<dyn UserRepository>, uow: Arc<dyn UnitOfWork>) {
    let t = tenant();
    let created: Vec<User> = (0..150).map(|i| user(t, &format!("user{i:03}@example.com"))).collect();
    committed(&*uow, async |tx| {
        for u in &created {
            users.create(tx, u).await?;
        }
        Ok(())
    })
    .await
    .unwrap();

    let mut expected: Vec<UserId> = created.iter().map(|u| u.id).collect();
    expected.sort();
    let seen: Vec<UserId> = walk(&*users, t, &UserFilter::default(), 7)
        .await
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(seen, expected);

    // Exactly one full page: no cursor to an empty page.
    let page = users
        .list(
            t,
            &UserFilter::default(),
            &PageRequest {
                limit: 150,
                cursor: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 150);
    assert_eq!(page.next_cursor, None);

    // A user created between two pages appears after the ones already paged.
    let first = users
        .list(
            t,
            &UserFilter::default(),
            &PageRequest {
                limit: 100,
                cursor: None,
            },
        )
        .await
        .unwrap();
    let late = user(t, "late@example.com");
    committed(&*uow, async |tx| users.create(tx, &late).await)
        .await
        .unwrap();
    let rest = users
        .list(
            t,
            &UserFilter::default(),
            &PageRequest {
                limit: 100,
                cursor: first.next_cursor,
            },
        )
        .await
        .unwrap();
    let mut all: Vec<UserId> = first.items.iter().chain(&rest.items).map(|u| u.id).collect();
    assert_eq!(all.pop(), Some(late.id));
    assert_eq!(all, expected);
    assert_eq!(rest.next_cursor, None);

    let bad = users
        .list(
            t,
            &UserFilter::default(),
            &PageRequest {
                limit: 10,
                cursor: Some("not a cursor!".to_owned()),
            },
        )
        .await;
    assert!(matches!(bad, Err(StoreError::Conflict(_))), "{bad:?}");
}

/// `email_contains` (case-insensitive), `email_verified` and `role_id`
/// filter, alone and together, across pages.
pub async fn users_list_filters(
    users: Arc<dyn UserRepository>,
    roles: Arc<dyn RoleRepository>,
    uow: Arc<dyn UnitOfWork>,
) {
    let t = tenant();
    let ada = User {
        email_verified: true,
        ..user(t, "ada@lovelace.org")
    };
    let alan = user(t, "alan@turing.org");
    let grace = User {
        email_verified: true,
        ..user(t, "grace@hopper.org")
    };
    let admin = role(t, "admin", &["user.read"]);
    committed(&*uow, async |tx| {
        for u in [&ada, &alan, &grace] {
            users.create(tx, u).await?;
        }
        roles.create(tx, &admin).await?;
        roles.assign_to_user(tx, t, alan.id, &[admin.id]).await?;
        roles.assign_to_user(tx, t, grace.id, &[admin.id]).await
    })
    .await
    .unwrap();

    let ids = async |filter: UserFilter| -> Vec<UserId> {
        walk(&*users, t, &filter, 1).await.into_iter().map(|u| u.id).collect()
    };
    let by_email = ids(UserFilter {
        email_contains: Some("A@LOVE".to_owned()),
        ..UserFilter::default()
    })
    .await;
    assert_eq!(by_email, vec![ada.id]);
    let org = ids(UserFilter {
        email_contains: Some(".ORG".to_owned()),
        ..UserFilter::default()
    })
    .await;
    assert_eq!(org.len(), 3);
    let verified = ids(UserFilter {
        email_verified: Some(true),
        ..UserFilter::default()
    })
    .await;
    assert_eq!(sorted(verified), sorted(vec![ada.id, grace.id]));
    let unverified = ids(UserFilter {
        email_verified: Some(false),
        ..UserFilter::default()
    })
    .await;
    assert_eq!(unverified, vec![alan.id]);
    let admins = ids(UserFilter {
        role_id: Some(admin.id),
        ..UserFilter::default()
    })
    .await;
    assert_eq!(sorted(admins), sorted(vec![alan.id, grace.id]));
    let verified_admins = ids(UserFilter {
        role_id: Some(admin.id),
        email_verified: Some(true),
        ..UserFilter::default()
    })
    .await;
    assert_eq!(verified_admins, vec![grace.id]);
    let nobody = ids(UserFilter {
        email_contains: Some("nobody".to_owned()),
        ..UserFilter::default()
    })
    .await;
    assert!(nobody.is_empty());
}

fn sorted(mut ids: Vec<UserId>) -> Vec<UserId> {
    ids.sort();
    ids
}
