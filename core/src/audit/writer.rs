//! The batched audit writer: entries recorded outside a unit of work are
//! queued (bounded: a full queue makes callers wait, it never drops) and
//! written in multi-row batches; stopping flushes everything accepted.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use platform_ports::audit::AuditStore;
use platform_ports::audit::{AuditEntry, AuditFilter, ChainHead, ChainedEntry, Checkpoint};
use platform_ports::lifecycle::BackgroundService;
use platform_ports::model::{Page, PageRequest, TenantId};
use platform_ports::persistence::Transaction;
use platform_ports::{BoxError, StoreError};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// Queue and batch sizes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditWriterSettings {
    /// Entries waiting to be written; beyond this, recording waits.
    pub capacity: usize,
    /// Entries per write.
    pub batch_size: usize,
    /// Longest wait before a partial batch is written.
    pub flush_interval: Duration,
    /// Pause before retrying a failed write (the batch is kept).
    pub retry_backoff: Duration,
}

impl Default for AuditWriterSettings {
    fn default() -> Self {
        Self {
            capacity: 10_000,
            batch_size: 500,
            flush_interval: Duration::from_millis(200),
            retry_backoff: Duration::from_millis(500),
        }
    }
}

/// The writer task and the way to ask it to finish.
type Running = (watch::Sender<bool>, JoinHandle<()>);

/// An [`AuditStore`] whose `append_batch` only queues; everything else goes
/// straight to the inner store (in-transaction appends stay transactional).
///
/// The writer assigns no chain link itself: the inner store chains each
/// batch when it commits it, so the chain follows commit order whether an
/// entry came through this queue or through a unit of work.
///
/// Clones share one queue and one writer task: the container holds one as
/// the `AuditStore`, the lifecycle starts and stops another.
#[derive(Clone)]
pub struct BatchedAuditWriter {
    inner: Arc<dyn AuditStore>,
    settings: AuditWriterSettings,
    tx: mpsc::Sender<AuditEntry>,
    rx: Arc<Mutex<Option<mpsc::Receiver<AuditEntry>>>>,
    running: Arc<Mutex<Option<Running>>>,
    written: Arc<AtomicU64>,
}

impl BatchedAuditWriter {
    /// A writer in front of `inner`.
    pub fn new(inner: Arc<dyn AuditStore>, settings: AuditWriterSettings) -> Self {
        let (tx, rx) = mpsc::channel(settings.capacity.max(1));
        Self {
            inner,
            settings,
            tx,
            rx: Arc::new(Mutex::new(Some(rx))),
            running: Arc::new(Mutex::new(None)),
            written: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Entries written so far.
    #[must_use]
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}

/// Writes `batch`, retrying until it lands or `give_up` says stop.
async fn write(
    inner: &dyn AuditStore,
    batch: &mut Vec<AuditEntry>,
    s: &AuditWriterSettings,
    written: &AtomicU64,
    stopping: bool,
) {
    let mut attempts = 0u32;
    while !batch.is_empty() {
        match inner.append_batch(batch).await {
            Ok(()) => {
                written.fetch_add(batch.len() as u64, Ordering::Relaxed);
                batch.clear();
            }
            Err(err) => {
                attempts += 1;
                tracing::error!(entries = batch.len(), attempts, error = %err, "audit batch write failed; retrying");
                // While stopping, keep trying for a bounded while (the
                // lifecycle's stop timeout bounds us anyway).
                if stopping && attempts >= 20 {
                    tracing::error!(
                        entries = batch.len(),
                        "audit entries could not be written before shutdown"
                    );
                    batch.clear();
                    return;
                }
                tokio::time::sleep(s.retry_backoff).await;
            }
        }
    }
}

async fn run(
    inner: Arc<dyn AuditStore>,
    mut rx: mpsc::Receiver<AuditEntry>,
    mut stop: watch::Receiver<bool>,
    s: AuditWriterSettings,
    written: Arc<AtomicU64>,
) {
    let mut batch = Vec::with_capacity(s.batch_size);
    // The inner wait may consume the stop notification, so the flag is read
    // on every turn rather than relying on `changed()` firing again.
    while !*stop.borrow() {
        tokio::select! {
            received = rx.recv_many(&mut batch, s.batch_size) => {
                if received == 0 {
                    break;
                }
                // Give a partial batch a moment to fill up.
                if batch.len() < s.batch_size {
                    let deadline = tokio::time::sleep(s.flush_interval);
                    tokio::pin!(deadline);
                    while batch.len() < s.batch_size {
                        let room = s.batch_size - batch.len();
                        tokio::select! {
                            n = rx.recv_many(&mut batch, room) => if n == 0 { break },
                            () = &mut deadline => break,
                            _ = stop.changed() => break,
                        }
                    }
                }
                write(&*inner, &mut batch, &s, &written, false).await;
            }
            _ = stop.changed() => break,
        }
    }
    // Stop accepting, then write everything already accepted.
    rx.close();
    while rx.recv_many(&mut batch, s.batch_size).await > 0 {
        write(&*inner, &mut batch, &s, &written, true).await;
    }
}

#[async_trait]
impl AuditStore for BatchedAuditWriter {
    async fn append(&self, tx: &mut Transaction, entry: &AuditEntry) -> Result<(), StoreError> {
        self.inner.append(tx, entry).await
    }

    async fn append_batch(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        for entry in entries {
            self.tx
                .send(entry.clone())
                .await
                .map_err(|_| StoreError::backend("the audit writer has stopped"))?;
        }
        Ok(())
    }

    async fn query(
        &self,
        tenant: TenantId,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEntry>, StoreError> {
        self.inner.query(tenant, filter, page).await
    }

    async fn chain(&self, tenant: TenantId, after: u64, limit: u32) -> Result<Vec<ChainedEntry>, StoreError> {
        self.inner.chain(tenant, after, limit).await
    }

    async fn chain_head(&self, tenant: TenantId) -> Result<Option<ChainHead>, StoreError> {
        self.inner.chain_head(tenant).await
    }

    async fn chained_tenants(&self) -> Result<Vec<TenantId>, StoreError> {
        self.inner.chained_tenants().await
    }

    async fn save_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        self.inner.save_checkpoint(checkpoint).await
    }

    async fn latest_checkpoint(&self, tenant: TenantId) -> Result<Option<Checkpoint>, StoreError> {
        self.inner.latest_checkpoint(tenant).await
    }
}

#[async_trait]
impl BackgroundService for BatchedAuditWriter {
    fn name(&self) -> &'static str {
        "audit-writer"
    }

    async fn start(&self) -> Result<(), BoxError> {
        let rx = self
            .rx
            .lock()
            .map_err(|_| "audit writer state poisoned")?
            .take()
            .ok_or("audit writer already started")?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run(
            self.inner.clone(),
            rx,
            stop_rx,
            self.settings.clone(),
            self.written.clone(),
        ));
        *self.running.lock().map_err(|_| "audit writer state poisoned")? = Some((stop_tx, task));
        Ok(())
    }

    async fn stop(&self) -> Result<(), BoxError> {
        let running = self.running.lock().map_err(|_| "audit writer state poisoned")?.take();
        if let Some((stop, task)) = running {
            let _ = stop.send(true);
            task.await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex as StdMutex;

    use platform_ports::audit::AuditEntry;

    use platform_ports::audit::MockAuditStore;
    use platform_ports::model::{AuditId, TenantId};

    use super::*;

    fn entry() -> AuditEntry {
        AuditEntry {
            id: AuditId::new(),
            tenant_id: TenantId::DEFAULT,
            actor_id: None,
            action: "test.action".into(),
            target_id: None,
            metadata: Default::default(),
            occurred_at: chrono::Utc::now(),
            request_id: None,
            ip: None,
            user_agent: None,
        }
    }

    fn recording_store(fail_first: usize) -> (MockAuditStore, Arc<StdMutex<Vec<usize>>>) {
        let batches = Arc::new(StdMutex::new(Vec::new()));
        let b = batches.clone();
        let mut failures = fail_first;
        let mut store = MockAuditStore::new();
        store.expect_append_batch().returning(move |entries| {
            if failures > 0 {
                failures -= 1;
                return Err(StoreError::backend("database down"));
            }
            b.lock().unwrap().push(entries.len());
            Ok(())
        });
        (store, batches)
    }

    fn settings() -> AuditWriterSettings {
        AuditWriterSettings {
            capacity: 2000,
            batch_size: 100,
            flush_interval: Duration::from_millis(20),
            retry_backoff: Duration::from_millis(5),
        }
    }

    #[tokio::test]
    async fn writes_in_batches_and_flushes_everything_on_stop() {
        let (store, batches) = recording_store(0);
        let writer = BatchedAuditWriter::new(Arc::new(store), settings());
        writer.start().await.unwrap();
        for _ in 0..1050 {
            writer.append_batch(&[entry()]).await.unwrap();
        }
        writer.stop().await.unwrap();
        let batches = batches.lock().unwrap().clone();
        assert_eq!(batches.iter().sum::<usize>(), 1050, "nothing accepted is lost");
        assert!(batches.iter().all(|n| *n <= 100));
        assert!(batches.len() < 1050 / 2, "entries are batched: {batches:?}");
        assert_eq!(writer.written(), 1050);
        assert!(writer.append_batch(&[entry()]).await.is_err(), "stopped writers refuse");
    }

    #[tokio::test]
    async fn a_failed_write_is_retried_not_dropped() {
        let (store, batches) = recording_store(3);
        let writer = BatchedAuditWriter::new(Arc::new(store), settings());
        writer.start().await.unwrap();
        for _ in 0..10 {
            writer.append_batch(&[entry()]).await.unwrap();
        }
        writer.stop().await.unwrap();
        assert_eq!(batches.lock().unwrap().iter().sum::<usize>(), 10);
    }

    #[tokio::test]
    async fn entries_queued_before_start_are_written() {
        let (store, batches) = recording_store(0);
        let writer = BatchedAuditWriter::new(Arc::new(store), settings());
        for _ in 0..5 {
            writer.append_batch(&[entry()]).await.unwrap();
        }
        writer.start().await.unwrap();
        writer.stop().await.unwrap();
        assert_eq!(batches.lock().unwrap().iter().sum::<usize>(), 5);
    }
}
