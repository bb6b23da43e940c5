//! Files' metadata (`files`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_ports::StoreError;
use platform_ports::blob::BlobKey;
use platform_ports::files::{AttachedTo, FileRepository, StoredFile};
use platform_ports::model::{FileId, TenantId, UserId};
use platform_ports::persistence::Transaction;
use uuid::Uuid;

use crate::database::PgDatabase;
use crate::error::{corrupt, found};
use crate::scope::{Bypass, Scope};
use crate::uow::PgTx;

macro_rules! file_columns {
    () => {
        "id, tenant_id, owner_id, filename, content_type, size, sha256, blob_key, \
         module, resource_type, resource_id, purpose, created_at"
    };
}

/// A `files` row.
#[derive(sqlx::FromRow)]
struct FileRow {
    id: Uuid,
    tenant_id: Uuid,
    owner_id: Uuid,
    filename: String,
    content_type: String,
    size: i64,
    sha256: String,
    blob_key: String,
    module: Option<String>,
    resource_type: Option<String>,
    resource_id: Option<String>,
    purpose: Option<String>,
    created_at: DateTime<Utc>,
}

impl FileRow {
    fn into_file(self) -> Result<StoredFile, StoreError> {
        let attached_to = match (self.module, self.resource_type, self.resource_id, self.purpose) {
            (Some(module), Some(resource_type), Some(resource_id), Some(purpose)) => Some(AttachedTo {
                module,
                resource_type,
                resource_id,
                purpose,
            }),
            _ => None,
        };
        Ok(StoredFile {
            id: FileId(self.id),
            tenant_id: TenantId(self.tenant_id),
            owner_id: UserId(self.owner_id),
            filename: self.filename,
            content_type: self.content_type,
            size: u64::try_from(self.size).map_err(|e| corrupt("file size", e))?,
            sha256: self.sha256,
            key: BlobKey::parse(&self.blob_key).map_err(|e| corrupt("blob key", e))?,
            attached_to,
            created_at: self.created_at,
        })
    }
}

fn into_files(rows: Vec<FileRow>) -> Result<Vec<StoredFile>, StoreError> {
    rows.into_iter().map(FileRow::into_file).collect()
}

/// [`FileRepository`] over a [`PgDatabase`].
#[derive(Clone, Debug)]
pub struct PgFileRepository {
    db: PgDatabase,
}

impl PgFileRepository {
    /// A repository over `db`.
    #[must_use]
    pub fn new(db: PgDatabase) -> Self {
        Self { db }
    }
}

#[async_trait]
impl FileRepository for PgFileRepository {
    async fn find_by_id(&self, tenant: TenantId, id: FileId) -> Result<Option<StoredFile>, StoreError> {
        let row: Option<FileRow> = self
            .db
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("files.find_by_id", |conn| {
                sqlx::query_as(concat!(
                    "SELECT ",
                    file_columns!(),
                    " FROM files WHERE tenant_id = $1 AND id = $2"
                ))
                .bind(tenant.0)
                .bind(id.0)
                .fetch_optional(conn)
            })
            .await?;
        row.map(FileRow::into_file).transpose()
    }

    async fn list_attached(
        &self,
        tenant: TenantId,
        module: &str,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<Vec<StoredFile>, StoreError> {
        let rows: Vec<FileRow> = self
            .db
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("files.list_attached", |conn| {
                sqlx::query_as(concat!(
                    "SELECT ",
                    file_columns!(),
                    " FROM files WHERE tenant_id = $1 AND module = $2 AND resource_type = $3 \
                      AND resource_id = $4 ORDER BY id"
                ))
                .bind(tenant.0)
                .bind(module)
                .bind(resource_type)
                .bind(resource_id)
                .fetch_all(conn)
            })
            .await?;
        into_files(rows)
    }

    async fn key_in_use(&self, key: &BlobKey) -> Result<bool, StoreError> {
        self.db
            .scoped(Scope::Bypass(Bypass::Maintenance))
            .await?
            .run("files.key_in_use", |conn| {
                sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM files WHERE blob_key = $1)")
                    .bind(key.as_str())
                    .fetch_one(conn)
            })
            .await
    }

    async fn create(&self, tx: &mut Transaction, file: &StoredFile) -> Result<(), StoreError> {
        let size = i64::try_from(file.size).map_err(|e| StoreError::backend(format!("file size: {e}")))?;
        let attached = file.attached_to.as_ref();
        PgTx::of(tx)?
            .scoped(Scope::Tenant(file.tenant_id))
            .await?
            .run("files.create", |conn| {
                sqlx::query(concat!(
                    "INSERT INTO files (",
                    file_columns!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
                ))
                .bind(file.id.0)
                .bind(file.tenant_id.0)
                .bind(file.owner_id.0)
                .bind(file.filename.as_str())
                .bind(file.content_type.as_str())
                .bind(size)
                .bind(file.sha256.as_str())
                .bind(file.key.as_str())
                .bind(attached.map(|a| a.module.as_str()))
                .bind(attached.map(|a| a.resource_type.as_str()))
                .bind(attached.map(|a| a.resource_id.as_str()))
                .bind(attached.map(|a| a.purpose.as_str()))
                .bind(file.created_at)
                .execute(conn)
            })
            .await?;
        Ok(())
    }

    async fn delete(&self, tx: &mut Transaction, tenant: TenantId, id: FileId) -> Result<(), StoreError> {
        let deleted = PgTx::of(tx)?
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("files.delete", |conn| {
                sqlx::query("DELETE FROM files WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.0)
                    .bind(id.0)
                    .execute(conn)
            })
            .await?
            .rows_affected();
        found(deleted)
    }

    async fn delete_attached(
        &self,
        tx: &mut Transaction,
        tenant: TenantId,
        module: &str,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<Vec<StoredFile>, StoreError> {
        let rows: Vec<FileRow> = PgTx::of(tx)?
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("files.delete_attached", |conn| {
                sqlx::query_as(concat!(
                    "DELETE FROM files WHERE tenant_id = $1 AND module = $2 AND resource_type = $3 \
                     AND resource_id = $4 RETURNING ",
                    file_columns!()
                ))
                .bind(tenant.0)
                .bind(module)
                .bind(resource_type)
                .bind(resource_id)
                .fetch_all(conn)
            })
            .await?;
        let mut files = into_files(rows)?;
        files.sort_by_key(|file| file.id);
        Ok(files)
    }
}
