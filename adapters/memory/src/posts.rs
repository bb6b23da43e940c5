//! Blog posts, indexed per tenant by creation time for newest-first paging.

use std::fmt;
use std::ops::Bound;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use im::{OrdMap, OrdSet};
use platform_ports::StoreError;
use platform_ports::blog::PostRepository;
use platform_ports::blog::{Post, PostFilter, PostStatus};
use platform_ports::model::{Page, PageRequest, PostId, TenantId};
use platform_ports::persistence::Transaction;
use shaku::Component;
use uuid::Uuid;

use crate::store::{MemoryStore, MemoryTx, decode_time_id, encode_time_id, paginate};

/// Names post-list cursors so other lists' cursors are refused.
const CURSOR_KIND: &str = "post";

/// Where a post sorts: its tenant, then creation time, then id as a tie-break.
type Key = (TenantId, DateTime<Utc>, PostId);

fn key_of(post: &Post) -> Key {
    (post.tenant_id, post.created_at, post.id)
}

/// The posts table and its per-tenant time index.
#[derive(Clone, Default)]
pub(crate) struct PostTable {
    rows: OrdMap<PostId, Post>,
    by_tenant: OrdSet<Key>,
}

impl PostTable {
    /// How many posts all tenants hold.
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    fn get(&self, tenant: TenantId, id: PostId) -> Option<&Post> {
        self.rows.get(&id).filter(|post| post.tenant_id == tenant)
    }

    /// The tenant's posts created before `before`, newest first.
    fn newest_first(&self, tenant: TenantId, before: Option<Key>) -> impl Iterator<Item = &Post> {
        let lower = Bound::Included((tenant, DateTime::<Utc>::MIN_UTC, PostId(Uuid::nil())));
        let upper = match before {
            Some(key) => Bound::Excluded(key),
            None => Bound::Included((tenant, DateTime::<Utc>::MAX_UTC, PostId(Uuid::max()))),
        };
        self.by_tenant
            .range((lower, upper))
            .rev()
            .filter_map(|(_, _, id)| self.rows.get(id))
    }

    fn insert(&mut self, post: &Post) -> Result<(), StoreError> {
        if self.rows.contains_key(&post.id) {
            return Err(StoreError::Conflict("post_id".to_owned()));
        }
        self.by_tenant.insert(key_of(post));
        self.rows.insert(post.id, post.clone());
        Ok(())
    }

    fn replace(&mut self, post: &Post) -> Result<(), StoreError> {
        let old_key = key_of(self.get(post.tenant_id, post.id).ok_or(StoreError::NotFound)?);
        self.by_tenant.remove(&old_key);
        self.by_tenant.insert(key_of(post));
        self.rows.insert(post.id, post.clone());
        Ok(())
    }

    fn remove(&mut self, tenant: TenantId, id: PostId) -> Result<(), StoreError> {
        let key = key_of(self.get(tenant, id).ok_or(StoreError::NotFound)?);
        self.by_tenant.remove(&key);
        self.rows.remove(&id);
        Ok(())
    }
}

/// Whether the filter selects `post` and the viewer may see it.
fn visible(post: &Post, filter: &PostFilter) -> bool {
    // Unpublished posts (drafts, archived) are private to their author unless
    // the viewer manages posts.
    let draft_ok =
        post.status == PostStatus::Published || filter.include_all_drafts || filter.viewer_id == Some(post.author_id);
    draft_ok
        && filter.status.is_none_or(|status| post.status == status)
        && filter.author_id.is_none_or(|author| post.author_id == author)
        && filter.tag.as_ref().is_none_or(|tag| post.tags.contains(tag))
}

/// [`PostRepository`] over a [`MemoryStore`].
#[derive(Component)]
#[shaku(interface = PostRepository)]
pub struct MemoryPostRepository {
    store: Arc<MemoryStore>,
}

impl MemoryPostRepository {
    /// A repository over `store`.
    #[must_use]
    pub fn new(store: Arc<MemoryStore>) -> Self {
        Self { store }
    }

    /// The shaku parameters that build it over `store` (for
    /// `with_component_parameters::<MemoryPostRepository>`).
    #[must_use]
    pub fn parameters(store: Arc<MemoryStore>) -> MemoryPostRepositoryParameters {
        MemoryPostRepositoryParameters { store }
    }
}

impl fmt::Debug for MemoryPostRepository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryPostRepository").finish_non_exhaustive()
    }
}

#[async_trait]
impl PostRepository for MemoryPostRepository {
    async fn find_by_id(&self, tenant: TenantId, id: PostId) -> Result<Option<Post>, StoreError> {
        Ok(self.store.snapshot().tables.posts.get(tenant, id).cloned())
    }

    async fn list(&self, tenant: TenantId, filter: &PostFilter, page: &PageRequest) -> Result<Page<Post>, StoreError> {
        let before = page
            .cursor
            .as_deref()
            .map(|cursor| decode_time_id(CURSOR_KIND, cursor))
            .transpose()?
            .map(|(at, id)| (tenant, at, PostId(id)));
        let state = self.store.snapshot();
        let posts = state
            .tables
            .posts
            .newest_first(tenant, before)
            .filter(|post| visible(post, filter))
            .cloned();
        Ok(paginate(posts, page.limit, |post| {
            encode_time_id(CURSOR_KIND, post.created_at, post.id.0)
        }))
    }

    async fn create(&self, tx: &mut Transaction, post: &Post) -> Result<(), StoreError> {
        MemoryTx::of(tx, &self.store)?.write(|tables| tables.posts.insert(post))
    }

    async fn update(&self, tx: &mut Transaction, post: &Post) -> Result<(), StoreError> {
        MemoryTx::of(tx, &self.store)?.write(|tables| tables.posts.replace(post))
    }

    async fn delete(&self, tx: &mut Transaction, tenant: TenantId, id: PostId) -> Result<(), StoreError> {
        MemoryTx::of(tx, &self.store)?.write(|tables| tables.posts.remove(tenant, id))
    }

    async fn published_between(
        &self,
        tenant: TenantId,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Post>, StoreError> {
        let state = self.store.snapshot();
        // A scan of the tenant's posts: the memory store holds test-sized
        // data, and a second index would have to follow every publication.
        let mut posts: Vec<Post> = state
            .tables
            .posts
            .newest_first(tenant, None)
            .filter(|post| {
                post.status == PostStatus::Published && post.published_at.is_some_and(|at| at > after && at <= until)
            })
            .cloned()
            .collect();
        posts.sort_by_key(|post| (post.published_at, post.id));
        posts.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(posts)
    }
}
