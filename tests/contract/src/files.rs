//! The file metadata repository: create, find, delete, key uniqueness,
//! tenant isolation, a resource's attachments listed and deleted together,
//! rows that go with their unit of work.

use std::sync::Arc;

use platform_ports::StoreError;
use platform_ports::blob::BlobKey;
use platform_ports::files::{AttachedTo, FileRepository, StoredFile};
use platform_ports::model::{FileId, TenantId, UserId};
use platform_ports::persistence::UnitOfWork;

use crate::fixtures::{committed, now, tenant};

/// A file of `tenant`, attached to blog post `post` when given.
fn file(tenant: TenantId, post: Option<&str>, purpose: &str) -> StoredFile {
    let id = FileId::new();
    let attached_to = post.map(|post| AttachedTo {
        module: "blog".to_owned(),
        resource_type: "post".to_owned(),
        resource_id: post.to_owned(),
        purpose: purpose.to_owned(),
    });
    StoredFile {
        id,
        tenant_id: tenant,
        owner_id: UserId::new(),
        filename: "a b.png".to_owned(),
        content_type: "image/png".to_owned(),
        size: 5_000_000_000,
        sha256: "ab".repeat(32),
        key: BlobKey::parse(&format!("tenants/{tenant}/files/file/{id}/a b.png")).unwrap(),
        attached_to,
        created_at: now(),
    }
}

/// Create, find, delete; an id and a key are stored once; the key is in use
/// exactly while its row exists.
pub async fn file_crud(files: Arc<dyn FileRepository>, uow: Arc<dyn UnitOfWork>) {
    let t = tenant();
    let f = file(t, None, "");
    committed(&*uow, async |tx| files.create(tx, &f).await).await.unwrap();
    assert_eq!(files.find_by_id(t, f.id).await.unwrap(), Some(f.clone()));
    assert!(files.key_in_use(&f.key).await.unwrap());

    let dup = committed(&*uow, async |tx| files.create(tx, &f).await).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    let same_key = StoredFile {
        id: FileId::new(),
        ..f.clone()
    };
    let dup = committed(&*uow, async |tx| files.create(tx, &same_key).await).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");

    committed(&*uow, async |tx| files.delete(tx, t, f.id).await)
        .await
        .unwrap();
    assert_eq!(files.find_by_id(t, f.id).await.unwrap(), None);
    assert!(!files.key_in_use(&f.key).await.unwrap());
    let again = committed(&*uow, async |tx| files.delete(tx, t, f.id).await).await;
    assert!(matches!(again, Err(StoreError::NotFound)), "{again:?}");
}

/// Another tenant neither finds, lists nor deletes a tenant's files.
pub async fn files_isolated_by_tenant(files: Arc<dyn FileRepository>, uow: Arc<dyn UnitOfWork>) {
    let (a, b) = (tenant(), tenant());
    let f = file(a, Some("p1"), "attachment");
    committed(&*uow, async |tx| files.create(tx, &f).await).await.unwrap();
    assert_eq!(files.find_by_id(b, f.id).await.unwrap(), None);
    assert!(files.list_attached(b, "blog", "post", "p1").await.unwrap().is_empty());
    let other = committed(&*uow, async |tx| files.delete(tx, b, f.id).await).await;
    assert!(matches!(other, Err(StoreError::NotFound)), "{other:?}");
    let removed = committed(&*uow, async |tx| {
        files.delete_attached(tx, b, "blog", "post", "p1").await
    })
    .await
    .unwrap();
    assert!(removed.is_empty());
    assert_eq!(files.find_by_id(a, f.id).await.unwrap(), Some(f));
}

/// A resource's files (any purpose) are listed oldest first and deleted
/// together; other resources' files stay.
pub async fn attached_files_listed_and_deleted_together(files: Arc<dyn FileRepository>, uow: Arc<dyn UnitOfWork>) {
    let t = tenant();
    let first = file(t, Some("p1"), "attachment");
    let cover = file(t, Some("p1"), "cover");
    let other_post = file(t, Some("p2"), "attachment");
    let loose = file(t, None, "");
    for f in [&first, &cover, &other_post, &loose] {
        committed(&*uow, async |tx| files.create(tx, f).await).await.unwrap();
    }
    let listed = files.list_attached(t, "blog", "post", "p1").await.unwrap();
    assert_eq!(listed, vec![first.clone(), cover.clone()]);

    // Rolled back: nothing deleted.
    let mut tx = uow.begin().await.unwrap();
    let removed = files.delete_attached(&mut tx, t, "blog", "post", "p1").await.unwrap();
    assert_eq!(removed.len(), 2);
    tx.rollback().await.unwrap();
    assert_eq!(files.list_attached(t, "blog", "post", "p1").await.unwrap().len(), 2);

    let removed = committed(&*uow, async |tx| {
        files.delete_attached(tx, t, "blog", "post", "p1").await
    })
    .await
    .unwrap();
    assert_eq!(removed, vec![first.clone(), cover.clone()]);
    assert!(files.list_attached(t, "blog", "post", "p1").await.unwrap().is_empty());
    assert_eq!(files.find_by_id(t, first.id).await.unwrap(), None);
    assert!(!files.key_in_use(&cover.key).await.unwrap());
    assert_eq!(files.find_by_id(t, other_post.id).await.unwrap(), Some(other_post));
    assert_eq!(files.find_by_id(t, loose.id).await.unwrap(), Some(loose));
}
