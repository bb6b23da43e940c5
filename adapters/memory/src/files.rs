//! Files' metadata, per tenant, with an index of the blob keys in use.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use im::{HashSet, OrdMap};
use platform_ports::StoreError;
use platform_ports::blob::BlobKey;
use platform_ports::files::{FileRepository, StoredFile};
use platform_ports::model::{FileId, TenantId};
use platform_ports::persistence::Transaction;
use shaku::Component;

use crate::store::{MemoryStore, MemoryTx};

/// The files table and the set of keys its rows name.
///
/// Rows are behind an `Arc`: `im`'s B-tree copies whole 64-entry chunks of
/// values through its recursive remove, and with each `StoredFile` (eight
/// strings) inline, a debug build overflowed a 2 MiB tokio worker stack
/// replacing a post's cover once the table held a few hundred files
/// (schemathesis found it).
#[derive(Clone, Default)]
pub(crate) struct FileTable {
    rows: OrdMap<FileId, Arc<StoredFile>>,
    keys: HashSet<BlobKey>,
}

impl FileTable {
    fn get(&self, tenant: TenantId, id: FileId) -> Option<&StoredFile> {
        self.rows
            .get(&id)
            .map(Arc::as_ref)
            .filter(|file| file.tenant_id == tenant)
    }

    fn insert(&mut self, file: &StoredFile) -> Result<(), StoreError> {
        if self.rows.contains_key(&file.id) {
            return Err(StoreError::Conflict("file_id".to_owned()));
        }
        if self.keys.contains(&file.key) {
            return Err(StoreError::Conflict("file_key".to_owned()));
        }
        self.keys.insert(file.key.clone());
        self.rows.insert(file.id, Arc::new(file.clone()));
        Ok(())
    }

    fn remove(&mut self, tenant: TenantId, id: FileId) -> Result<StoredFile, StoreError> {
        let file = self.get(tenant, id).cloned().ok_or(StoreError::NotFound)?;
        self.keys.remove(&file.key);
        self.rows.remove(&id);
        Ok(file)
    }

    /// The tenant's files attached to one resource (any purpose), oldest first.
    fn attached<'a>(
        &'a self,
        tenant: TenantId,
        module: &'a str,
        resource_type: &'a str,
        resource_id: &'a str,
    ) -> impl Iterator<Item = &'a StoredFile> {
        // Ids are time-ordered (v7), so id order is upload order.
        self.rows.values().map(Arc::as_ref).filter(move |file| {
            file.tenant_id == tenant
                && file.attached_to.as_ref().is_some_and(|a| {
                    a.module == module && a.resource_type == resource_type && a.resource_id == resource_id
                })
        })
    }
}

/// [`FileRepository`] over a [`MemoryStore`].
#[derive(Component)]
#[shaku(interface = FileRepository)]
pub struct MemoryFileRepository {
    store: Arc<MemoryStore>,
}

impl MemoryFileRepository {
    /// A repository over `store`.
    #[must_use]
    pub fn new(store: Arc<MemoryStore>) -> Self {
        Self { store }
    }
}

impl fmt::Debug for MemoryFileRepository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryFileRepository").finish_non_exhaustive()
    }
}

#[async_trait]
impl FileRepository for MemoryFileRepository {
    async fn find_by_id(&self, tenant: TenantId, id: FileId) -> Result<Option<StoredFile>, StoreError> {
        Ok(self.store.snapshot().tables.files.get(tenant, id).cloned())
    }

    async fn list_attached(
        &self,
        tenant: TenantId,
        module: &str,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<Vec<StoredFile>, StoreError> {
        let state = self.store.snapshot();
        Ok(state
            .tables
            .files
            .attached(tenant, module, resource_type, resource_id)
            .cloned()
            .collect())
    }

    async fn key_in_use(&self, key: &BlobKey) -> Result<bool, StoreError> {
        Ok(self.store.snapshot().tables.files.keys.contains(key))
    }

    async fn create(&self, tx: &mut Transaction, file: &StoredFile) -> Result<(), StoreError> {
        MemoryTx::of(tx, &self.store)?.write(|tables| tables.files.insert(file))
    }

    async fn delete(&self, tx: &mut Transaction, tenant: TenantId, id: FileId) -> Result<(), StoreError> {
        MemoryTx::of(tx, &self.store)?.write(|tables| tables.files.remove(tenant, id).map(drop))
    }

    async fn delete_attached(
        &self,
        tx: &mut Transaction,
        tenant: TenantId,
        module: &str,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<Vec<StoredFile>, StoreError> {
        MemoryTx::of(tx, &self.store)?.write(|tables| {
            let ids: Vec<FileId> = tables
                .files
                .attached(tenant, module, resource_type, resource_id)
                .map(|file| file.id)
                .collect();
            ids.into_iter().map(|id| tables.files.remove(tenant, id)).collect()
        })
    }
}
