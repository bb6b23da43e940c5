//! The orphan sweep: blobs under `tenants/` that no file row names.
//!
//! They appear when a blob's deletion fails after its row was deleted (the
//! row goes first, so no row ever points at a missing blob), or when the
//! process dies between storing an upload and committing its row.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_ports::BoxError;
use platform_ports::blob::{BlobPrefix, BlobStore, ListRequest};
use platform_ports::clock::Clock;
use platform_ports::files::FileRepository;
use platform_ports::jobs::CronJob;

use super::TENANTS_PREFIX;

/// Deletes blobs older than the grace period that no file row names.
pub struct OrphanSweep {
    blobs: Arc<dyn BlobStore>,
    files: Arc<dyn FileRepository>,
    clock: Arc<dyn Clock>,
    grace: chrono::Duration,
}

impl OrphanSweep {
    /// A sweep that spares blobs younger than `grace`: an upload whose row
    /// is not committed yet must not lose its blob.
    pub fn new(
        blobs: Arc<dyn BlobStore>,
        files: Arc<dyn FileRepository>,
        clock: Arc<dyn Clock>,
        grace: chrono::Duration,
    ) -> Self {
        Self {
            blobs,
            files,
            clock,
            grace,
        }
    }

    /// Runs one sweep; returns how many blobs it deleted.
    ///
    /// # Errors
    /// When listing, looking up or deleting fails (the next run resumes).
    pub async fn sweep(&self) -> Result<u64, BoxError> {
        let cutoff: DateTime<Utc> = self.clock.now() - self.grace;
        let mut request = ListRequest::new(BlobPrefix::parse(TENANTS_PREFIX)?);
        let mut deleted = 0;
        loop {
            let page = self.blobs.list(&request).await?;
            for entry in page.entries {
                // A blob of unknown age might be an upload in flight.
                if entry.last_modified.is_none_or(|at| at > cutoff) {
                    continue;
                }
                if !self.files.key_in_use(&entry.key).await? {
                    self.blobs.delete(&entry.key).await?;
                    deleted += 1;
                }
            }
            match page.next_cursor {
                Some(cursor) => request.cursor = Some(cursor),
                None => return Ok(deleted),
            }
        }
    }
}

#[async_trait]
impl CronJob for OrphanSweep {
    async fn run(&self) -> Result<(), BoxError> {
        let deleted = self.sweep().await?;
        tracing::info!(deleted, "orphan blobs swept");
        Ok(())
    }
}
