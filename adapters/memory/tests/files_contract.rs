//! Runs the file metadata contract against the memory adapter.

use std::sync::Arc;

use platform_adapter_memory::{MemoryFileRepository, MemoryStore, MemoryUnitOfWork};
use platform_contract::files;
use platform_ports::files::FileRepository;
use platform_ports::persistence::UnitOfWork;

fn ports() -> (Arc<dyn FileRepository>, Arc<dyn UnitOfWork>) {
    let store = Arc::new(MemoryStore::new());
    (
        Arc::new(MemoryFileRepository::new(store.clone())),
        Arc::new(MemoryUnitOfWork::new(store)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_crud() {
    let (repo, uow) = ports();
    files::file_crud(repo, uow).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_isolated_by_tenant() {
    let (repo, uow) = ports();
    files::files_isolated_by_tenant(repo, uow).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attached_files_listed_and_deleted_together() {
    let (repo, uow) = ports();
    files::attached_files_listed_and_deleted_together(repo, uow).await;
}
