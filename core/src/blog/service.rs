//! The [`BlogService`] use cases.

use async_trait::async_trait;
use platform_ports::blog::{AttachmentPurpose, BlogError, BlogService, PostInput};
use platform_ports::blog::{Post, PostFilter, PostStatus};
use platform_ports::files::{AttachedTo, FileError, StoredFile, Upload};
use platform_ports::model::{Page, PageRequest, PostId, RequestContext};

use super::manager::{
    BlogManager, Change, FILES_MODULE, FILES_RESOURCE, Write, actor, list_error, visible_without_manage,
};
use super::names::{actions, events};
use super::{policy, workflow};
use crate::meta;

#[async_trait]
impl BlogService for BlogManager {
    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, request_id = %ctx.request_id))]
    async fn create(&self, ctx: &RequestContext, input: PostInput) -> Result<Post, BlogError> {
        let author = actor(ctx)?;
        let valid = policy::validate(input)?;
        let now = self.clock.now();
        let post = Post {
            id: PostId(self.ids.new_id()),
            tenant_id: ctx.tenant_id,
            author_id: author,
            title: valid.title,
            content: valid.content,
            status: PostStatus::Draft,
            tags: valid.tags,
            created_at: now,
            updated_at: now,
            published_at: None,
        };
        let change = Change {
            write: Write::Create,
            action: actions::POST_CREATED,
            event: events::POST_CREATED,
            metadata: meta!(),
        };
        self.persist(ctx, &post, change).await?;
        tracing::info!(post_id = %post.id, "post created");
        Ok(post)
    }

    // Reads get a debug-level span: the request span already names the
    // request, tenant and user, and a second span on the hottest route cost
    // about 5 % of its CPU (see tests/load/README.md). Writes keep theirs.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant_id = %ctx.tenant_id, request_id = %ctx.request_id, post_id = %id))]
    async fn get(&self, ctx: &RequestContext, id: PostId) -> Result<Post, BlogError> {
        let reader = actor(ctx)?;
        let post = self.load(ctx, id).await?;
        // Only another author's unpublished post needs the manage
        // permission, so most reads ask no resolver.
        if visible_without_manage(&post, reader) || self.may_manage(ctx, reader).await? {
            Ok(post)
        } else {
            Err(BlogError::NotFound)
        }
    }

    /// The visibility flags are the service's to set, whatever the caller
    /// put in them.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant_id = %ctx.tenant_id, request_id = %ctx.request_id))]
    async fn list(&self, ctx: &RequestContext, filter: PostFilter, page: PageRequest) -> Result<Page<Post>, BlogError> {
        let reader = actor(ctx)?;
        let manager = self.may_manage(ctx, reader).await?;
        let filter = PostFilter {
            tag: policy::tag_filter(filter.tag),
            include_all_drafts: manager,
            viewer_id: Some(reader),
            ..filter
        };
        let found = self
            .posts
            .list(ctx.tenant_id, &filter, &page)
            .await
            .map_err(list_error)?;
        if manager {
            return Ok(found);
        }
        // The adapters already hide other authors' unpublished posts (the
        // contract suite checks it); this re-check keeps the rule `get`
        // enforces even for an adapter that does not. A shorter page keeps
        // its cursor, so paging stays correct.
        Ok(Page {
            items: found
                .items
                .into_iter()
                .filter(|post| visible_without_manage(post, reader))
                .collect(),
            next_cursor: found.next_cursor,
        })
    }

    /// Replacing a post with what it already holds writes nothing.
    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, request_id = %ctx.request_id, post_id = %id))]
    async fn update(&self, ctx: &RequestContext, id: PostId, input: PostInput) -> Result<Post, BlogError> {
        let editor = actor(ctx)?;
        let valid = policy::validate(input)?;
        let current = self.load_for_change(ctx, editor, id).await?;
        let fields: Vec<&str> = [
            ("title", valid.title != current.title),
            ("content", valid.content != current.content),
            ("tags", valid.tags != current.tags),
        ]
        .into_iter()
        .filter_map(|(field, changed)| changed.then_some(field))
        .collect();
        if fields.is_empty() {
            return Ok(current);
        }
        let post = Post {
            title: valid.title,
            content: valid.content,
            tags: valid.tags,
            updated_at: self.clock.now(),
            ..current
        };
        let change = Change {
            write: Write::Update,
            action: actions::POST_UPDATED,
            event: events::POST_UPDATED,
            metadata: meta! { "fields" => fields },
        };
        self.persist(ctx, &post, change).await?;
        Ok(post)
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, request_id = %ctx.request_id, post_id = %id))]
    async fn delete(&self, ctx: &RequestContext, id: PostId) -> Result<(), BlogError> {
        let editor = actor(ctx)?;
        let post = self.load_for_change(ctx, editor, id).await?;
        let change = Change {
            write: Write::Delete,
            action: actions::POST_DELETED,
            event: events::POST_DELETED,
            metadata: meta! { "author_id" => post.author_id },
        };
        self.persist(ctx, &post, change).await?;
        tracing::info!("post deleted");
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, request_id = %ctx.request_id, post_id = %id))]
    async fn attach(
        &self,
        ctx: &RequestContext,
        id: PostId,
        mut upload: Upload,
        purpose: AttachmentPurpose,
    ) -> Result<StoredFile, BlogError> {
        let editor = actor(ctx)?;
        let post = self.load_for_change(ctx, editor, id).await?;
        let essence = upload
            .content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if purpose == AttachmentPurpose::Cover && !essence.starts_with("image/") {
            return Err(BlogError::File(FileError::UnsupportedType(upload.content_type)));
        }
        let previous = match purpose {
            AttachmentPurpose::Cover => self.attachments_of(ctx, post.id).await?,
            AttachmentPurpose::Attachment => Vec::new(),
        };
        upload.attach_to = Some(AttachedTo {
            module: FILES_MODULE.to_owned(),
            resource_type: FILES_RESOURCE.to_owned(),
            resource_id: post.id.to_string(),
            purpose: purpose.as_str().to_owned(),
        });
        let file = self.files.upload(ctx, upload).await.map_err(BlogError::File)?;
        // One cover: the new one is stored before the old goes, so a failed
        // upload never leaves the post without one.
        for old in previous
            .into_iter()
            .filter(|f| f.attached_to.as_ref().is_some_and(|a| a.purpose == purpose.as_str()))
        {
            match self.files.delete(ctx, old.id).await {
                Ok(()) | Err(FileError::NotFound) => {}
                Err(err) => return Err(BlogError::File(err)),
            }
        }
        tracing::info!(file_id = %file.id, purpose = purpose.as_str(), "post file stored");
        Ok(file)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(tenant_id = %ctx.tenant_id, post_id = %id))]
    async fn attachments(&self, ctx: &RequestContext, id: PostId) -> Result<Vec<StoredFile>, BlogError> {
        let post = self.get(ctx, id).await?;
        self.attachments_of(ctx, post.id).await
    }

    /// Permission is checked before the workflow, so a caller who may not
    /// touch the post learns nothing of its status.
    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, request_id = %ctx.request_id, post_id = %id, to = %status))]
    async fn transition(&self, ctx: &RequestContext, id: PostId, status: PostStatus) -> Result<Post, BlogError> {
        let editor = actor(ctx)?;
        let current = self.load_for_change(ctx, editor, id).await?;
        let from = current.status;
        let step = workflow::step(from, status)?;
        let now = self.clock.now();
        let post = Post {
            status,
            updated_at: now,
            // Restoring keeps the last publication time; publishing again replaces it.
            published_at: if status == PostStatus::Published {
                Some(now)
            } else {
                current.published_at
            },
            ..current
        };
        let change = Change {
            write: Write::Update,
            action: step.action,
            event: step.event,
            metadata: meta! { "from" => from },
        };
        self.persist(ctx, &post, change).await?;
        tracing::info!(%from, "post moved");
        Ok(post)
    }
}

impl BlogManager {
    /// Every file of the post (the caller's right to see it already checked).
    async fn attachments_of(&self, ctx: &RequestContext, id: PostId) -> Result<Vec<StoredFile>, BlogError> {
        self.files
            .attached(ctx, FILES_MODULE, FILES_RESOURCE, &id.to_string())
            .await
            .map_err(BlogError::File)
    }
}
