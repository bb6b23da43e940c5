use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{FieldError, PostId, TenantId, UserId};

/// Where a post is in its publishing workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostStatus {
    /// Visible to its author (and managers) only.
    Draft,
    /// Visible to readers.
    Published,
    /// Withdrawn; can be restored to draft.
    Archived,
}

impl PostStatus {
    /// The status as stored and sent.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
            Self::Archived => "archived",
        }
    }
}

impl FromStr for PostStatus {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "draft" => Ok(Self::Draft),
            "published" => Ok(Self::Published),
            "archived" => Ok(Self::Archived),
            _ => Err(FieldError::new(
                "status",
                "invalid",
                "must be draft, published or archived",
            )),
        }
    }
}

impl fmt::Display for PostStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A blog post.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    /// Identity.
    pub id: PostId,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Author.
    pub author_id: UserId,
    /// Title.
    pub title: String,
    /// Body.
    pub content: String,
    /// Workflow status.
    pub status: PostStatus,
    /// Tags.
    pub tags: Vec<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When it was (last) published.
    pub published_at: Option<DateTime<Utc>>,
}

/// Filters for listing posts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostFilter {
    /// Only this status.
    pub status: Option<PostStatus>,
    /// Only this author.
    pub author_id: Option<UserId>,
    /// Only posts with this tag.
    pub tag: Option<String>,
    /// Drafts of other authors are hidden unless this is set (managers).
    pub include_all_drafts: bool,
    /// The viewer, whose own drafts are always visible.
    pub viewer_id: Option<UserId>,
}
