//! The JSON the blog routes read and write; each derives its OpenAPI schema.

use chrono::{DateTime, Utc};
use platform_ports::blog::{AttachmentPurpose, PostInput};
use platform_ports::blog::{Post, PostStatus};
use platform_ports::files::StoredFile;
use platform_ports::model::{PostId, TenantId, UserId, rfc3339_micros, rfc3339_micros_opt};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::files::FileView;

/// A post's title, content and tags (create, and replace with `PUT`).
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct PostBody {
    /// Required and non-blank: at most 200 characters once trimmed, no
    /// control characters.
    #[schema(
        example = "Hexagons all the way down",
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    title: String,
    /// The body text: at most 100000 characters; tab, line feed and carriage
    /// return are the only control characters allowed.
    #[schema(
        max_length = 100_000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    content: String,
    /// Tags; absent means none. Each is 1 to 40 ASCII letters, digits or `-`
    /// (trimmed and lower-cased); at most 20 distinct tags (repeats are dropped).
    #[serde(default)]
    #[schema(schema_with = tag_list)]
    tags: Vec<String>,
}

/// The schema of `tags`: each item's rule (the count is checked after
/// repeats are dropped, so it is stated in the description only).
fn tag_list() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(r"^\s*[A-Za-z0-9-]{1,40}\s*$"))
                .examples(["rust"]),
        )
        .build()
}

impl From<PostBody> for PostInput {
    fn from(body: PostBody) -> Self {
        Self {
            title: body.title,
            content: body.content,
            tags: body.tags,
        }
    }
}

/// Where a post is in its workflow: draft → published → archived → draft.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = PostStatus)]
pub(crate) enum PostStatusView {
    Draft,
    Published,
    Archived,
}

impl From<PostStatus> for PostStatusView {
    fn from(status: PostStatus) -> Self {
        // Exhaustive, so a new status cannot reach the wire undocumented.
        match status {
            PostStatus::Draft => Self::Draft,
            PostStatus::Published => Self::Published,
            PostStatus::Archived => Self::Archived,
        }
    }
}

/// A blog post.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Post)]
pub(crate) struct PostView {
    #[schema(value_type = uuid::Uuid)]
    id: PostId,
    #[schema(value_type = uuid::Uuid)]
    tenant_id: TenantId,
    /// The user who created it.
    #[schema(value_type = uuid::Uuid)]
    author_id: UserId,
    title: String,
    content: String,
    status: PostStatusView,
    tags: Vec<String>,
    #[serde(serialize_with = "rfc3339_micros")]
    created_at: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339_micros")]
    updated_at: DateTime<Utc>,
    /// When it was last published; `null` while it never was.
    #[schema(required = true)]
    #[serde(serialize_with = "rfc3339_micros_opt")]
    published_at: Option<DateTime<Utc>>,
    /// The cover image (`GET /posts/{id}` only; `null` when it has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<FileView>)]
    cover: Option<Option<FileView>>,
    /// The attached files, oldest first (`GET /posts/{id}` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    attachments: Option<Vec<FileView>>,
}

impl PostView {
    /// The post with its files listed (its cover apart).
    pub(crate) fn with_files(mut self, files: Vec<StoredFile>) -> Self {
        let (covers, attachments): (Vec<_>, Vec<_>) = files.into_iter().partition(|file| {
            file.attached_to
                .as_ref()
                .is_some_and(|a| a.purpose == AttachmentPurpose::Cover.as_str())
        });
        // Newest cover wins should a replaced one still be listed.
        self.cover = Some(covers.into_iter().last().map(FileView::from));
        self.attachments = Some(attachments.into_iter().map(FileView::from).collect());
        self
    }
}

impl From<Post> for PostView {
    fn from(post: Post) -> Self {
        Self {
            id: post.id,
            tenant_id: post.tenant_id,
            author_id: post.author_id,
            title: post.title,
            content: post.content,
            status: post.status.into(),
            tags: post.tags,
            created_at: post.created_at,
            updated_at: post.updated_at,
            published_at: post.published_at,
            cover: None,
            attachments: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_serialize_as_the_domain_spells_them() {
        for status in [PostStatus::Draft, PostStatus::Published, PostStatus::Archived] {
            let json = serde_json::to_value(PostStatusView::from(status)).unwrap();
            assert_eq!(json, status.as_str());
        }
    }

    #[test]
    fn tags_are_optional_and_title_is_required() {
        let body: PostBody = serde_json::from_str(r#"{"title": "t", "content": "c"}"#).unwrap();
        assert!(body.tags.is_empty());
        assert!(serde_json::from_str::<PostBody>(r#"{"content": "c"}"#).is_err());
    }
}
