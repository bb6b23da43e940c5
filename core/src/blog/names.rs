//! The topic, audit actions and event types the Blog module records (the
//! HTTP contract and event consumers match on these strings).

/// The topic of every blog event: one topic, so the events of one post keep
/// their order.
pub const BLOG_TOPIC: &str = "blog.posts";

/// Who emits blog events.
pub const EVENT_SOURCE: &str = "blog";

/// Audit actions.
pub mod actions {
    /// A draft was written.
    pub const POST_CREATED: &str = "blog.post.created";
    /// Title, content or tags changed.
    pub const POST_UPDATED: &str = "blog.post.updated";
    /// A draft was published.
    pub const POST_PUBLISHED: &str = "blog.post.published";
    /// A published post was withdrawn.
    pub const POST_ARCHIVED: &str = "blog.post.archived";
    /// An archived post went back to draft.
    pub const POST_RESTORED: &str = "blog.post.restored";
    /// A post was deleted.
    pub const POST_DELETED: &str = "blog.post.deleted";
}

/// Event types published through the outbox on [`BLOG_TOPIC`].
pub mod events {
    /// A draft was written.
    pub const POST_CREATED: &str = "blog.post.created";
    /// A post changed: its content, or its status when archived or restored
    /// (the new status is in the event's data).
    pub const POST_UPDATED: &str = "blog.post.updated";
    /// A post became visible to readers.
    pub const POST_PUBLISHED: &str = "blog.post.published";
    /// A post was deleted.
    pub const POST_DELETED: &str = "blog.post.deleted";
}
