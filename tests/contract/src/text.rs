//! Storable text: every text the domain accepts (`check_storable`) is kept
//! exactly by every adapter, and text it refuses (U+0000 first) never makes
//! an adapter report itself broken. PostgreSQL refuses NUL in `text`; that
//! refusal is the caller's fault (`StoreError::Invalid`, a 4xx), never
//! `StoreError::Backend` (a 503).

use std::sync::Arc;

use platform_ports::StoreError;
use platform_ports::audit::{AuditFilter, AuditStore};
use platform_ports::blog::{Post, PostFilter, PostRepository, PostStatus};
use platform_ports::identity::{Role, RoleRepository, User, UserFilter, UserRepository};
use platform_ports::model::{PageRequest, TextKind, UserId, check_storable};
use platform_ports::persistence::UnitOfWork;

use crate::fixtures::{at, committed, post, role, tenant, user};

/// Single-line text the domain accepts: every script, astral characters,
/// combining marks, invisible but non-control characters, quotes and
/// backslashes, and the last code points of the planes.
const SINGLE_LINE: &[&str] = &[
    "Ada Lovelace",
    "ünïcödé — “quotes” ‘single’ «guillemets»",
    "漢字かなカナ 한국어 العربية עברית हिन्दी",
    "emoji 🦀🚀 👩‍💻 🇫🇷",
    "e\u{301} combining, \u{a0}nbsp, \u{200b}zwsp, \u{feff}bom, \u{202e}rtl",
    "back\\slash 'single' \"double\" %_ wildcards",
    "\u{fffd}\u{ffff}\u{10ffff}",
];

/// Multi-line text adds tab, LF and CR.
const MULTI_LINE: &str = "line 1\nline 2\r\n\tindented \u{1f980}";

/// Text the domain refuses: NUL, another C0 control, a C1 control.
const REFUSED: &[&str] = &["a\u{0}b", "bell\u{7}", "next\u{85}line"];

/// A write or a query with refused text either succeeds (the memory
/// adapter keeps anything) or is refused as the caller's fault.
fn callers_fault_at_worst<T: std::fmt::Debug>(what: &str, result: &Result<T, StoreError>) {
    assert!(
        matches!(result, Ok(_) | Err(StoreError::Invalid(_))),
        "{what}: refused text must not look like a backend failure: {result:?}"
    );
}

/// Accepted text round-trips exactly through users, roles and posts.
pub async fn accepted_text_round_trips(
    users: Arc<dyn UserRepository>,
    roles: Arc<dyn RoleRepository>,
    posts: Arc<dyn PostRepository>,
    uow: Arc<dyn UnitOfWork>,
) {
    let t = tenant();
    for (i, text) in SINGLE_LINE.iter().enumerate() {
        assert!(check_storable("t", text, TextKind::SingleLine).is_ok(), "{text:?}");
        let stored = User {
            display_name: Some((*text).to_owned()),
            ..user(t, &format!("text{i}@example.com"))
        };
        committed(&*uow, async |tx| users.create(tx, &stored).await)
            .await
            .unwrap();
        assert_eq!(
            users.find_by_id(t, stored.id).await.unwrap(),
            Some(stored.clone()),
            "{text:?}"
        );

        let stored_role = Role {
            description: Some(format!("{text}\n{MULTI_LINE}")),
            ..role(t, &format!("role{i}"), &["blog.post.read"])
        };
        committed(&*uow, async |tx| roles.create(tx, &stored_role).await)
            .await
            .unwrap();
        let found = roles.find_by_id(t, stored_role.id).await.unwrap().unwrap();
        assert_eq!(found.description, stored_role.description, "{text:?}");

        let stored_post = Post {
            title: (*text).to_owned(),
            content: format!("{text}\n{MULTI_LINE}"),
            ..post(t, UserId::new(), PostStatus::Draft, at(i64::try_from(i).unwrap()))
        };
        assert!(check_storable("c", &stored_post.content, TextKind::MultiLine).is_ok());
        committed(&*uow, async |tx| posts.create(tx, &stored_post).await)
            .await
            .unwrap();
        assert_eq!(
            posts.find_by_id(t, stored_post.id).await.unwrap(),
            Some(stored_post),
            "{text:?}"
        );
    }
}

/// Refused text is refused by the domain first; should it reach an adapter
/// anyway, the adapter says "invalid value", never "backend down".
pub async fn refused_text_is_never_a_backend_failure(
    users: Arc<dyn UserRepository>,
    posts: Arc<dyn PostRepository>,
    audit: Arc<dyn AuditStore>,
    uow: Arc<dyn UnitOfWork>,
) {
    let t = tenant();
    for (i, text) in REFUSED.iter().enumerate() {
        assert!(check_storable("t", text, TextKind::SingleLine).is_err(), "{text:?}");
        assert!(check_storable("t", text, TextKind::MultiLine).is_err(), "{text:?}");
        let stored = User {
            display_name: Some((*text).to_owned()),
            ..user(t, &format!("refused{i}@example.com"))
        };
        let written = committed(&*uow, async |tx| users.create(tx, &stored).await).await;
        callers_fault_at_worst("user display name", &written);

        let stored_post = Post {
            title: (*text).to_owned(),
            ..post(t, UserId::new(), PostStatus::Draft, at(0))
        };
        let written = committed(&*uow, async |tx| posts.create(tx, &stored_post).await).await;
        callers_fault_at_worst("post title", &written);

        let page = PageRequest::default();
        let filter = UserFilter {
            email_contains: Some((*text).to_owned()),
            ..UserFilter::default()
        };
        callers_fault_at_worst("users email filter", &users.list(t, &filter, &page).await);
        let filter = PostFilter {
            tag: Some((*text).to_owned()),
            include_all_drafts: true,
            ..PostFilter::default()
        };
        callers_fault_at_worst("posts tag filter", &posts.list(t, &filter, &page).await);
        let filter = AuditFilter {
            action: Some((*text).to_owned()),
            target_id: Some((*text).to_owned()),
            ..AuditFilter::default()
        };
        callers_fault_at_worst("audit action filter", &audit.query(t, &filter, &page).await);
    }
    // NUL is the one PostgreSQL cannot hold: the domain's rule exists for it.
    let written = committed(&*uow, async |tx| {
        posts
            .create(
                tx,
                &Post {
                    title: "a\u{0}b".to_owned(),
                    ..post(t, UserId::new(), PostStatus::Draft, at(1))
                },
            )
            .await
    })
    .await;
    callers_fault_at_worst("NUL title", &written);
}
