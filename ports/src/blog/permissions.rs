//! The Blog module's permissions. The HTTP routes check the base permission
//! of each operation; the service adds [`POST_MANAGE`] when the caller acts
//! on another author's post.

crate::declare_permissions! {
    /// Write new posts (as their author).
    POST_CREATE = "blog.post.create",
    /// Read published posts (and one's own drafts).
    POST_READ = "blog.post.read",
    /// Change one's own posts.
    POST_UPDATE = "blog.post.update",
    /// Delete one's own posts.
    POST_DELETE = "blog.post.delete",
    /// Publish, archive and restore one's own posts.
    POST_PUBLISH = "blog.post.publish",
    /// Act on other authors' posts and see their drafts.
    POST_MANAGE = "blog.post.manage",
}

#[cfg(test)]
mod tests {
    use crate::authz::Permission;

    use super::*;

    #[test]
    fn every_permission_is_well_formed_and_belongs_to_the_blog() {
        assert_eq!(ALL.len(), 6);
        for permission in ALL {
            assert_eq!(Permission::parse(permission.as_str()).as_ref(), Ok(permission));
            assert_eq!(permission.module(), "blog");
        }
    }
}
