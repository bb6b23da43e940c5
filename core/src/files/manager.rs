//! [`FilesManager`]: the [`FileService`] use cases.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use platform_ports::StoreError;
use platform_ports::audit::AuditStore;
use platform_ports::blob::{BlobError, BlobKey, BlobStore, PresignedUrl, PutOptions, SignedAccess};
use platform_ports::clock::{Clock, IdGenerator};
use platform_ports::events::Outbox;
use platform_ports::files::{AttachedTo, Download, FileError, FileRepository, FileService, StoredFile, Upload};
use platform_ports::model::{FieldError, FileId, RequestContext};
use platform_ports::persistence::{Transaction, UnitOfWork};

use super::policy::{FilesSettings, content_type_allowed};
use super::{EVENT_SOURCE, FILES_TOPIC, TENANTS_PREFIX, actions, events};
use crate::meta;
use crate::support::{audit_entry, event};
use crate::unit_of_work::run_in_unit;

/// Implements [`FileService`] over the blob store, the metadata repository,
/// the audit store, the outbox and the unit of work.
#[derive(shaku::Component)]
#[shaku(interface = FileService)]
pub struct FilesManager {
    #[shaku(inject)]
    pub(super) uow: Arc<dyn UnitOfWork>,
    #[shaku(inject)]
    pub(super) files: Arc<dyn FileRepository>,
    #[shaku(inject)]
    pub(super) blobs: Arc<dyn BlobStore>,
    #[shaku(inject)]
    pub(super) audit: Arc<dyn AuditStore>,
    #[shaku(inject)]
    pub(super) outbox: Arc<dyn Outbox>,
    #[shaku(inject)]
    pub(super) clock: Arc<dyn Clock>,
    #[shaku(inject)]
    pub(super) ids: Arc<dyn IdGenerator>,
    pub(super) settings: FilesSettings,
}

/// The module and resource type of files uploaded on their own.
const OWN_MODULE: &str = "files";
const OWN_RESOURCE: &str = "file";

impl FilesManager {
    /// The row of `id` in the caller's tenant.
    async fn load(&self, ctx: &RequestContext, id: FileId) -> Result<StoredFile, FileError> {
        self.files
            .find_by_id(ctx.tenant_id, id)
            .await
            .map_err(store_error)?
            .ok_or(FileError::NotFound)
    }

    /// Records the deletion of `file` in the audit log and the outbox, inside `tx`.
    async fn record_deleted(
        &self,
        tx: &mut Transaction,
        ctx: &RequestContext,
        file: &StoredFile,
    ) -> Result<(), FileError> {
        let entry = audit_entry(
            ctx,
            self.clock.as_ref(),
            self.ids.as_ref(),
            actions::FILE_DELETED,
            Some(file.id.to_string()),
            meta! { "filename" => file.filename, "key" => file.key, "attached_to" => file.attached_to },
        );
        self.audit.append(tx, &entry).await.map_err(store_error)?;
        self.publish(tx, ctx, events::FILE_DELETED, file).await
    }

    /// Enqueues the `event_type` event about `file` in the outbox, inside `tx`.
    async fn publish(
        &self,
        tx: &mut Transaction,
        ctx: &RequestContext,
        event_type: &str,
        file: &StoredFile,
    ) -> Result<(), FileError> {
        let event = event(
            self.clock.as_ref(),
            self.ids.as_ref(),
            event_type,
            EVENT_SOURCE,
            ctx.tenant_id,
            file.id.to_string(),
            event_data(file),
        );
        self.outbox.enqueue(tx, FILES_TOPIC, &event).await.map_err(store_error)
    }
}

/// The last path segment of what a client sent as a file name (browsers
/// may send `C:\fakepath\photo.png`).
fn base_name(raw: &str) -> &str {
    raw.rsplit(['/', '\\']).next().unwrap_or(raw).trim()
}

/// `tenants/{tenant}/{module}/{resource_type}/{id}/{filename}`.
fn key_for(
    ctx: &RequestContext,
    id: FileId,
    attach: Option<&AttachedTo>,
    filename: &str,
) -> Result<BlobKey, FileError> {
    let (module, resource) = attach.map_or((OWN_MODULE, OWN_RESOURCE), |a| {
        (a.module.as_str(), a.resource_type.as_str())
    });
    let relative = BlobKey::from_parts(module, resource, &id.to_string(), filename)
        .map_err(|e| FileError::Validation(e.into()))?;
    BlobKey::parse(&format!("{TENANTS_PREFIX}{}/{relative}", ctx.tenant_id))
        .map_err(|e| FileError::Validation(FieldError::new("filename", "too_long", e.message).into()))
}

#[async_trait]
impl FileService for FilesManager {
    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, request_id = %ctx.request_id))]
    async fn upload(&self, ctx: &RequestContext, upload: Upload) -> Result<StoredFile, FileError> {
        let owner = ctx.user_id().ok_or(FileError::Unauthenticated)?;
        if let Some(attach) = &upload.attach_to {
            attach.validate().map_err(|e| FileError::Validation(e.into()))?;
        }
        // Both checks before a byte is read: a refused upload costs nothing.
        if !content_type_allowed(&self.settings.allowed_content_types, &upload.content_type) {
            return Err(FileError::UnsupportedType(upload.content_type));
        }
        let limit = self.settings.max_upload_bytes;
        if upload.length.is_some_and(|length| length > limit) {
            return Err(FileError::TooLarge { limit });
        }
        let filename = base_name(&upload.filename);
        let filename = if filename.is_empty() { "file" } else { filename }.to_owned();
        let id = FileId(self.ids.new_id());
        let key = key_for(ctx, id, upload.attach_to.as_ref(), &filename)?;
        let mut options = PutOptions::new(upload.content_type.clone()).with_max_size(limit);
        options.length = upload.length;
        let info = self.blobs.put(&key, upload.body, options).await.map_err(blob_error)?;
        let file = StoredFile {
            id,
            tenant_id: ctx.tenant_id,
            owner_id: owner,
            filename,
            content_type: info.content_type,
            size: info.size,
            sha256: info.sha256.unwrap_or_default(),
            key,
            attached_to: upload.attach_to,
            created_at: self.clock.now(),
        };
        let recorded = run_in_unit(self.uow.as_ref(), store_error, async |tx| {
            self.files.create(tx, &file).await.map_err(store_error)?;
            let entry = audit_entry(
                ctx,
                self.clock.as_ref(),
                self.ids.as_ref(),
                actions::FILE_UPLOADED,
                Some(file.id.to_string()),
                meta! {
                    "filename" => file.filename,
                    "size" => file.size,
                    "content_type" => file.content_type,
                    "sha256" => file.sha256,
                    "attached_to" => file.attached_to,
                },
            );
            self.audit.append(tx, &entry).await.map_err(store_error)?;
            self.publish(tx, ctx, events::FILE_UPLOADED, &file).await
        })
        .await;
        if let Err(err) = recorded {
            // No row points at the blob: remove it now (the sweep would later).
            if let Err(cleanup) = self.blobs.delete(&file.key).await {
                tracing::warn!(key = %file.key, error = %cleanup, "could not delete the blob of a failed upload");
            }
            return Err(err);
        }
        tracing::info!(file_id = %file.id, size = file.size, "file uploaded");
        Ok(file)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(tenant_id = %ctx.tenant_id, file_id = %id))]
    async fn get(&self, ctx: &RequestContext, id: FileId) -> Result<StoredFile, FileError> {
        self.load(ctx, id).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(tenant_id = %ctx.tenant_id, file_id = %id))]
    async fn download(&self, ctx: &RequestContext, id: FileId) -> Result<Download, FileError> {
        let file = self.load(ctx, id).await?;
        let object = self.blobs.get(&file.key).await.map_err(blob_error)?;
        Ok(Download {
            file,
            body: object.body,
        })
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, request_id = %ctx.request_id, file_id = %id))]
    async fn delete(&self, ctx: &RequestContext, id: FileId) -> Result<(), FileError> {
        let file = self.load(ctx, id).await?;
        run_in_unit(self.uow.as_ref(), store_error, async |tx| {
            self.files.delete(tx, ctx.tenant_id, id).await.map_err(store_error)?;
            self.record_deleted(tx, ctx, &file).await
        })
        .await?;
        self.purge(vec![file]).await;
        tracing::info!("file deleted");
        Ok(())
    }

    async fn signed_url(
        &self,
        ctx: &RequestContext,
        id: FileId,
        ttl: Option<Duration>,
    ) -> Result<PresignedUrl, FileError> {
        let file = self.load(ctx, id).await?;
        let ttl = ttl.unwrap_or(self.settings.signed_url_ttl);
        self.blobs
            .presign(&file.key, SignedAccess::Get, ttl)
            .await
            .map_err(blob_error)
    }

    async fn open_signed(&self, key: &BlobKey) -> Result<Download, FileError> {
        let object = self.blobs.get(key).await.map_err(blob_error)?;
        let info = object.info;
        // The URL's signature is the authority here; the row (if any) only
        // lends the file's name.
        let file = StoredFile {
            id: FileId(uuid::Uuid::nil()),
            tenant_id: platform_ports::model::TenantId::DEFAULT,
            owner_id: platform_ports::model::UserId(uuid::Uuid::nil()),
            filename: info.key.file_name().to_owned(),
            content_type: info.content_type,
            size: info.size,
            sha256: info.sha256.unwrap_or_default(),
            key: info.key,
            attached_to: None,
            created_at: info.last_modified.unwrap_or_else(|| self.clock.now()),
        };
        Ok(Download {
            file,
            body: object.body,
        })
    }

    async fn attached(
        &self,
        ctx: &RequestContext,
        module: &str,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<Vec<StoredFile>, FileError> {
        self.files
            .list_attached(ctx.tenant_id, module, resource_type, resource_id)
            .await
            .map_err(store_error)
    }

    async fn detach_all(
        &self,
        tx: &mut Transaction,
        ctx: &RequestContext,
        module: &str,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<Vec<StoredFile>, FileError> {
        let removed = self
            .files
            .delete_attached(tx, ctx.tenant_id, module, resource_type, resource_id)
            .await
            .map_err(store_error)?;
        for file in &removed {
            self.record_deleted(tx, ctx, file).await?;
        }
        Ok(removed)
    }

    async fn purge(&self, files: Vec<StoredFile>) {
        for file in files {
            if let Err(err) = self.blobs.delete(&file.key).await {
                tracing::warn!(key = %file.key, error = %err, "blob not deleted; the orphan sweep will retry");
            }
        }
    }
}

/// What consumers learn about a file: its metadata, not where its bytes are
/// (they read them through the files API or a signed URL).
fn event_data(file: &StoredFile) -> serde_json::Value {
    serde_json::json!({
        "id": file.id,
        "owner_id": file.owner_id,
        "filename": file.filename,
        "content_type": file.content_type,
        "size": file.size,
        "sha256": file.sha256,
        "attached_to": file.attached_to,
        "created_at": file.created_at,
    })
}

/// A store failure: a missing row keeps its meaning, anything else is the backend's.
fn store_error(err: StoreError) -> FileError {
    match err {
        StoreError::NotFound => FileError::NotFound,
        other => FileError::Backend(Box::new(other)),
    }
}

/// A blob-store failure as the use cases report it.
fn blob_error(err: BlobError) -> FileError {
    match err {
        BlobError::NotFound => FileError::NotFound,
        BlobError::Invalid(field) => FileError::Validation(field.into()),
        BlobError::TooLarge { limit } => FileError::TooLarge { limit },
        BlobError::Body(source) => FileError::Body(source),
        err @ BlobError::Backend(_) => FileError::Backend(Box::new(err)),
    }
}
