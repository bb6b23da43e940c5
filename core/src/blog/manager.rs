//! [`BlogManager`]: its ports, who may see and change which post, and the
//! unit of work every change runs in.

use std::collections::BTreeMap;
use std::sync::Arc;

use platform_ports::StoreError;
use platform_ports::audit::AuditStore;
use platform_ports::authz::PermissionResolver;
use platform_ports::blog::BlogError;
use platform_ports::blog::PostRepository;
use platform_ports::blog::{Post, PostStatus};
use platform_ports::clock::{Clock, IdGenerator};
use platform_ports::events::Outbox;
use platform_ports::files::FileService;
use platform_ports::model::{PostId, RequestContext, UserId};
use platform_ports::persistence::UnitOfWork;
use serde_json::json;

use super::names::{BLOG_TOPIC, EVENT_SOURCE};
use super::permissions::POST_MANAGE;
use crate::support::{audit_entry, event, foreign_cursor};
use crate::unit_of_work::run_in_unit;

/// Implements [`BlogService`](platform_ports::blog::BlogService): posts,
/// their publishing workflow, and who may see and change them.
#[derive(shaku::Component)]
#[shaku(interface = platform_ports::blog::BlogService)]
pub struct BlogManager {
    #[shaku(inject)]
    pub(super) uow: Arc<dyn UnitOfWork>,
    #[shaku(inject)]
    pub(super) posts: Arc<dyn PostRepository>,
    #[shaku(inject)]
    pub(super) audit: Arc<dyn AuditStore>,
    #[shaku(inject)]
    pub(super) outbox: Arc<dyn Outbox>,
    #[shaku(inject)]
    pub(super) permissions: Arc<dyn PermissionResolver>,
    #[shaku(inject)]
    pub(super) clock: Arc<dyn Clock>,
    #[shaku(inject)]
    pub(super) ids: Arc<dyn IdGenerator>,
    #[shaku(inject)]
    pub(super) files: Arc<dyn FileService>,
}

/// The repository write a change makes.
#[derive(Clone, Copy, Debug)]
pub(super) enum Write {
    /// Insert the post.
    Create,
    /// Replace the post.
    Update,
    /// Delete the post.
    Delete,
}

/// One change of a post as it is recorded: the write, the audit action and
/// its details, and the event type.
pub(super) struct Change<'a> {
    /// The repository write.
    pub(super) write: Write,
    /// The audit action.
    pub(super) action: &'a str,
    /// The event type.
    pub(super) event: &'a str,
    /// Audit details beyond the post's title and status.
    pub(super) metadata: BTreeMap<String, serde_json::Value>,
}

impl BlogManager {
    /// Whether `actor` may act on other authors' posts.
    pub(super) async fn may_manage(&self, ctx: &RequestContext, actor: UserId) -> Result<bool, BlogError> {
        // An API key may only use its grant, not its creator's roles.
        if let Some(grant) = ctx.api_key() {
            return Ok(ctx.user_id() == Some(actor) && grant.allows(&POST_MANAGE));
        }
        self.permissions
            .has_permission(ctx.tenant_id, actor, &POST_MANAGE)
            .await
            .map_err(|err| BlogError::Backend(Box::new(err)))
    }

    /// The post in the caller's tenant.
    pub(super) async fn load(&self, ctx: &RequestContext, id: PostId) -> Result<Post, BlogError> {
        self.posts
            .find_by_id(ctx.tenant_id, id)
            .await
            .map_err(store_error)?
            .ok_or(BlogError::NotFound)
    }

    /// The post if `actor` may change it: their own, or anyone's with the
    /// manage permission. Another author's post the actor cannot even see
    /// is `NotFound`, so a refusal never reveals that a draft exists.
    pub(super) async fn load_for_change(
        &self,
        ctx: &RequestContext,
        actor: UserId,
        id: PostId,
    ) -> Result<Post, BlogError> {
        let post = self.load(ctx, id).await?;
        if post.author_id == actor || self.may_manage(ctx, actor).await? {
            Ok(post)
        } else if visible_without_manage(&post, actor) {
            Err(BlogError::Forbidden)
        } else {
            Err(BlogError::NotFound)
        }
    }

    /// Writes `post`, its audit entry and its event in one unit of work. A
    /// deletion also deletes the rows of the post's files in that unit, and
    /// their bytes after it commits.
    pub(super) async fn persist(&self, ctx: &RequestContext, post: &Post, change: Change<'_>) -> Result<(), BlogError> {
        let detached = run_in_unit(self.uow.as_ref(), store_error, async |tx| {
            let mut detached = Vec::new();
            match change.write {
                Write::Create => self.posts.create(tx, post).await,
                Write::Update => self.posts.update(tx, post).await,
                Write::Delete => {
                    detached = self
                        .files
                        .detach_all(tx, ctx, FILES_MODULE, FILES_RESOURCE, &post.id.to_string())
                        .await
                        .map_err(BlogError::File)?;
                    self.posts.delete(tx, ctx.tenant_id, post.id).await
                }
            }
            .map_err(store_error)?;
            let mut metadata = change.metadata;
            metadata.insert("title".to_owned(), json!(post.title));
            metadata.insert("status".to_owned(), json!(post.status));
            let (clock, ids) = (self.clock.as_ref(), self.ids.as_ref());
            let entry = audit_entry(ctx, clock, ids, change.action, Some(post.id.to_string()), metadata);
            self.audit.append(tx, &entry).await.map_err(store_error)?;
            let event = event(
                clock,
                ids,
                change.event,
                EVENT_SOURCE,
                ctx.tenant_id,
                post.id.to_string(),
                event_data(post),
            );
            self.outbox.enqueue(tx, BLOG_TOPIC, &event).await.map_err(store_error)?;
            Ok(detached)
        })
        .await?;
        if !detached.is_empty() {
            self.files.purge(detached).await;
        }
        Ok(())
    }
}

/// How the blog names its posts to the files module.
pub(super) const FILES_MODULE: &str = "blog";
/// See [`FILES_MODULE`].
pub(super) const FILES_RESOURCE: &str = "post";

/// The caller's user id: every blog operation has an author or a reader.
pub(super) fn actor(ctx: &RequestContext) -> Result<UserId, BlogError> {
    ctx.user_id().ok_or(BlogError::Unauthenticated)
}

/// Published posts are for every reader, the rest for their author (and
/// managers, who are asked separately).
pub(super) fn visible_without_manage(post: &Post, actor: UserId) -> bool {
    post.status == PostStatus::Published || post.author_id == actor
}

/// What consumers learn about a post: enough to index or notify, not the body.
fn event_data(post: &Post) -> serde_json::Value {
    json!({
        "id": post.id,
        "title": post.title,
        "status": post.status,
        "author_id": post.author_id,
        "tags": post.tags,
    })
}

/// A store failure as the use cases report it: a missing row and a refused
/// value keep their meaning, anything else is the backend's fault.
pub(super) fn store_error(err: StoreError) -> BlogError {
    match err {
        StoreError::NotFound => BlogError::NotFound,
        StoreError::Invalid(reason) => BlogError::Validation(crate::support::unstorable(&reason)),
        other => BlogError::Backend(Box::new(other)),
    }
}

/// A list's store failure: a conflict there means a cursor the list did not make.
pub(super) fn list_error(err: StoreError) -> BlogError {
    match err {
        StoreError::Conflict(_) => BlogError::Validation(foreign_cursor()),
        other => store_error(other),
    }
}
