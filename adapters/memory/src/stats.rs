//! Published posts per author, kept by the blog's example subscriber.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use im::HashMap;
use platform_ports::StoreError;
use platform_ports::blog::AuthorStats;
use platform_ports::model::{TenantId, UserId};
use platform_ports::persistence::Transaction;
use shaku::Component;

use crate::store::{MemoryStore, MemoryTx};

/// Published posts per (tenant, author).
#[derive(Clone, Default)]
pub(crate) struct AuthorStatsTable {
    published: HashMap<(TenantId, UserId), u64>,
}

/// [`AuthorStats`] over a [`MemoryStore`]: a table of the store, so a count
/// commits (or rolls back) with the processed-event record beside it.
#[derive(Component)]
#[shaku(interface = AuthorStats)]
pub struct MemoryAuthorStats {
    store: Arc<MemoryStore>,
}

impl MemoryAuthorStats {
    /// Counts over `store`.
    #[must_use]
    pub fn new(store: Arc<MemoryStore>) -> Self {
        Self { store }
    }
}

impl fmt::Debug for MemoryAuthorStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryAuthorStats").finish_non_exhaustive()
    }
}

#[async_trait]
impl AuthorStats for MemoryAuthorStats {
    async fn add_published(&self, tx: &mut Transaction, tenant: TenantId, author: UserId) -> Result<(), StoreError> {
        MemoryTx::of(tx, &self.store)?.write(|tables| {
            *tables.author_stats.published.entry((tenant, author)).or_insert(0) += 1;
            Ok(())
        })
    }

    async fn published(&self, tenant: TenantId, author: UserId) -> Result<u64, StoreError> {
        Ok(self
            .store
            .snapshot()
            .tables
            .author_stats
            .published
            .get(&(tenant, author))
            .copied()
            .unwrap_or(0))
    }
}
