//! Use-case tests of the blog with mockall mocks of every port.
//!
//! The harness answers the plumbing (unit of work, clock, ids, audit store,
//! outbox) and records what was appended and enqueued; each test sets the
//! expectations of the repository and the resolver. A port with no
//! expectation panics when called, so "not called" needs no code.

mod changes;
mod create;
mod read;
mod workflow;

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use platform_ports::StoreError;
use platform_ports::audit::MockAuditStore;
use platform_ports::authz::MockPermissionResolver;
use platform_ports::blog::MockPostRepository;
use platform_ports::blog::{BlogError, PostInput};
use platform_ports::blog::{Post, PostStatus};
use platform_ports::events::MockOutbox;
use platform_ports::files::MockFileService;
use platform_ports::model::{PostId, RequestContext, UserId};
use platform_ports::testing::TxOutcome;
use uuid::Uuid;

use super::{BLOG_TOPIC, BlogManager};
pub(super) use crate::testing::{Log, TENANT, anonymous, now};
use crate::testing::{counting_ids, fixed_clock};

/// The author of the stored posts.
pub(super) const AUTHOR: UserId = UserId(Uuid::from_u128(0xa1));
/// Someone else.
pub(super) const OTHER: UserId = UserId(Uuid::from_u128(0xb2));
/// The stored post's id.
pub(super) const POST: PostId = PostId(Uuid::from_u128(0x9057));

/// When the stored posts were written.
pub(super) fn earlier() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap()
}

/// A post of `author` in [`TENANT`] with this status.
pub(super) fn stored(author: UserId, status: PostStatus) -> Post {
    Post {
        id: POST,
        tenant_id: TENANT,
        author_id: author,
        title: "Hello".to_owned(),
        content: "First post.".to_owned(),
        status,
        tags: vec!["rust".to_owned()],
        created_at: earlier(),
        updated_at: earlier(),
        published_at: (status != PostStatus::Draft).then(earlier),
    }
}

/// Input with this title, a body and tags.
pub(super) fn input(title: &str, tags: &[&str]) -> PostInput {
    PostInput {
        title: title.to_owned(),
        content: "Some words.".to_owned(),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
    }
}

/// A call by `user` in [`TENANT`].
pub(super) fn as_user(user: UserId) -> RequestContext {
    crate::testing::as_user(user, None)
}

/// The fields and codes of a validation failure.
pub(super) fn field_errors<T: std::fmt::Debug>(result: Result<T, BlogError>) -> Vec<(String, String)> {
    match result {
        Err(BlogError::Validation(errors)) => errors.0.into_iter().map(|e| (e.field, e.code)).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

/// A backend failure of a store.
pub(super) fn broken() -> StoreError {
    StoreError::backend("disk on fire")
}

/// Mocks of every blog port, with the shared plumbing answered.
pub(super) struct Harness {
    pub(super) posts: MockPostRepository,
    pub(super) resolver: MockPermissionResolver,
    pub(super) audit: MockAuditStore,
    pub(super) outbox: MockOutbox,
    pub(super) files: MockFileService,
    pub(super) log: Log,
}

/// The blog holding [`AUTHOR`]'s post in `status`, for [`OTHER`], who does
/// not hold `blog.post.manage` (asked once).
pub(super) fn others_post(status: PostStatus) -> (BlogManager, Log) {
    Harness::new()
        .holding(stored(AUTHOR, status))
        .manager(OTHER, false)
        .build()
}

impl Harness {
    pub(super) fn new() -> Self {
        let log = Log::on_topic(BLOG_TOPIC);
        Self {
            posts: MockPostRepository::new(),
            resolver: MockPermissionResolver::new(),
            audit: log.audit_store(),
            outbox: log.outbox(),
            files: no_files(),
            log,
        }
    }

    /// The repository holds `post`.
    pub(super) fn holding(mut self, post: Post) -> Self {
        self.posts
            .expect_find_by_id()
            .withf(|tenant, id| *tenant == TENANT && *id == POST)
            .returning(move |_, _| Ok(Some(post.clone())));
        self
    }

    /// The resolver says whether `user` holds `blog.post.manage`, once.
    pub(super) fn manager(mut self, user: UserId, holds: bool) -> Self {
        self.resolver
            .expect_has_permission()
            .withf(move |tenant, u, p| *tenant == TENANT && *u == user && p.as_str() == "blog.post.manage")
            .times(1)
            .returning(move |_, _, _| Ok(holds));
        self
    }

    /// The blog manager over these mocks, and the log to inspect.
    pub(super) fn build(self) -> (BlogManager, Log) {
        let manager = BlogManager {
            uow: Arc::new(self.log.unit_of_work()),
            posts: Arc::new(self.posts),
            audit: Arc::new(self.audit),
            outbox: Arc::new(self.outbox),
            permissions: Arc::new(self.resolver),
            clock: Arc::new(fixed_clock()),
            ids: Arc::new(counting_ids()),
            files: Arc::new(self.files),
        };
        (manager, self.log)
    }
}

/// A files module in which posts have no files (a deletion detaches none).
fn no_files() -> MockFileService {
    let mut files = MockFileService::new();
    files.expect_detach_all().returning(|_, _, _, _, _| Ok(Vec::new()));
    files
}
