//! The role repository: CRUD, name uniqueness, assignments and tenant isolation.

use std::sync::Arc;

use platform_ports::StoreError;
use platform_ports::authz::Permission;
use platform_ports::identity::Role;
use platform_ports::identity::{RoleRepository, UserRepository};
use platform_ports::model::{RoleId, UserId};
use platform_ports::persistence::UnitOfWork;

use crate::fixtures::{committed, role, tenant, user};

fn names(roles: &[Role]) -> Vec<&str> {
    roles.iter().map(|r| r.name.as_str()).collect()
}

/// Create, find, list by name, rename, set permissions, delete; names are
/// unique per tenant.
pub async fn role_crud_and_unique_names(roles: Arc<dyn RoleRepository>, uow: Arc<dyn UnitOfWork>) {
    let (a, b) = (tenant(), tenant());
    let writer = role(a, "writer", &["blog.post.create"]);
    let admin = role(a, "admin", &["user.read", "user.write"]);
    committed(&*uow, async |tx| {
        roles.create(tx, &writer).await?;
        roles.create(tx, &admin).await
    })
    .await
    .unwrap();
    assert_eq!(roles.find_by_id(a, writer.id).await.unwrap(), Some(writer.clone()));
    assert_eq!(roles.find_by_name(a, "admin").await.unwrap(), Some(admin.clone()));
    assert_eq!(roles.find_by_name(a, "nobody").await.unwrap(), None);
    assert_eq!(names(&roles.list(a).await.unwrap()), ["admin", "writer"]);

    let dup = role(a, "admin", &[]);
    let conflict = committed(&*uow, async |tx| roles.create(tx, &dup).await).await;
    assert!(matches!(conflict, Err(StoreError::Conflict(_))), "{conflict:?}");
    committed(&*uow, async |tx| roles.create(tx, &role(b, "admin", &[])).await)
        .await
        .unwrap();

    let renamed = Role {
        name: "author".to_owned(),
        description: None,
        ..writer.clone()
    };
    committed(&*uow, async |tx| roles.update(tx, &renamed).await)
        .await
        .unwrap();
    assert_eq!(roles.find_by_name(a, "writer").await.unwrap(), None);
    assert_eq!(roles.find_by_name(a, "author").await.unwrap(), Some(renamed.clone()));
    let clash = Role {
        name: "admin".to_owned(),
        ..renamed.clone()
    };
    let taken = committed(&*uow, async |tx| roles.update(tx, &clash).await).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    let ghost = role(a, "ghost", &[]);
    let missing = committed(&*uow, async |tx| roles.update(tx, &ghost).await).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");

    let perms = [
        Permission::parse("audit.read").unwrap(),
        Permission::parse("user.read").unwrap(),
    ];
    committed(&*uow, async |tx| roles.set_permissions(tx, a, admin.id, &perms).await)
        .await
        .unwrap();
    assert_eq!(roles.find_by_id(a, admin.id).await.unwrap().unwrap().permissions, perms);
    let no_role = committed(&*uow, async |tx| {
        roles.set_permissions(tx, a, RoleId::new(), &perms).await
    })
    .await;
    assert!(matches!(no_role, Err(StoreError::NotFound)), "{no_role:?}");

    committed(&*uow, async |tx| roles.delete(tx, a, admin.id).await)
        .await
        .unwrap();
    assert_eq!(roles.find_by_id(a, admin.id).await.unwrap(), None);
    assert_eq!(names(&roles.list(a).await.unwrap()), ["author"]);
    let again = committed(&*uow, async |tx| roles.delete(tx, a, admin.id).await).await;
    assert!(matches!(again, Err(StoreError::NotFound)), "{again:?}");
    // The name is free again once its role is gone.
    committed(&*uow, async |tx| roles.create(tx, &role(a, "admin", &[])).await)
        .await
        .unwrap();
}

/// Assigning, revoking, and the cleanup when a role or a user is deleted.
pub async fn role_assignments(
    users: Arc<dyn UserRepository>,
    roles: Arc<dyn RoleRepository>,
    uow: Arc<dyn UnitOfWork>,
) {
    let t = tenant();
    let ada = user(t, "ada@example.com");
    let alan = user(t, "alan@example.com");
    let (admin, writer) = (
        role(t, "admin", &["user.read"]),
        role(t, "writer", &["blog.post.create"]),
    );
    committed(&*uow, async |tx| {
        users.create(tx, &ada).await?;
        users.create(tx, &alan).await?;
        roles.create(tx, &admin).await?;
        roles.create(tx, &writer).await?;
        roles.assign_to_user(tx, t, ada.id, &[writer.id, admin.id]).await?;
        // Already-held roles are kept once.
        roles.assign_to_user(tx, t, ada.id, &[admin.id]).await?;
        roles.assign_to_user(tx, t, alan.id, &[admin.id]).await
    })
    .await
    .unwrap();
    assert_eq!(
        names(&roles.roles_of_user(t, ada.id).await.unwrap()),
        ["admin", "writer"]
    );
    let mut holders = roles.users_with_role(t, admin.id).await.unwrap();
    holders.sort();
    let mut expected = vec![ada.id, alan.id];
    expected.sort();
    assert_eq!(holders, expected);

    let partial = committed(&*uow, async |tx| {
        roles.assign_to_user(tx, t, alan.id, &[writer.id, RoleId::new()]).await
    })
    .await;
    assert!(matches!(partial, Err(StoreError::NotFound)), "{partial:?}");
    assert_eq!(
        names(&roles.roles_of_user(t, alan.id).await.unwrap()),
        ["admin"],
        "a failed assignment left a role"
    );
    let nobody = committed(&*uow, async |tx| {
        roles.assign_to_user(tx, t, UserId::new(), &[admin.id]).await
    })
    .await;
    assert!(matches!(nobody, Err(StoreError::NotFound)), "{nobody:?}");

    committed(&*uow, async |tx| roles.revoke_from_user(tx, t, ada.id, writer.id).await)
        .await
        .unwrap();
    assert_eq!(names(&roles.roles_of_user(t, ada.id).await.unwrap()), ["admin"]);
    let not_held = committed(&*uow, async |tx| roles.revoke_from_user(tx, t, ada.id, writer.id).await).await;
    assert!(matches!(not_held, Err(StoreError::NotFound)), "{not_held:?}");

    committed(&*uow, async |tx| users.delete(tx, t, alan.id).await)
        .await
        .unwrap();
    assert_eq!(roles.users_with_role(t, admin.id).await.unwrap(), vec![ada.id]);
    committed(&*uow, async |tx| roles.delete(tx, t, admin.id).await)
        .await
        .unwrap();
    assert!(roles.roles_of_user(t, ada.id).await.unwrap().is_empty());
    assert!(roles.users_with_role(t, admin.id).await.unwrap().is_empty());
}

/// Tenant A neither sees nor changes tenant B's roles, and cannot hand them out.
pub async fn roles_isolated_by_tenant(
    users: Arc<dyn UserRepository>,
    roles: Arc<dyn RoleRepository>,
    uow: Arc<dyn UnitOfWork>,
) {
    let (a, b) = (tenant(), tenant());
    let theirs = role(b, "admin", &["user.read"]);
    let bob = user(b, "bob@example.com");
    let ada = user(a, "ada@example.com");
    committed(&*uow, async |tx| {
        roles.create(tx, &theirs).await?;
        users.create(tx, &bob).await?;
        users.create(tx, &ada).await?;
        roles.assign_to_user(tx, b, bob.id, &[theirs.id]).await
    })
    .await
    .unwrap();

    assert_eq!(roles.find_by_id(a, theirs.id).await.unwrap(), None);
    assert_eq!(roles.find_by_name(a, "admin").await.unwrap(), None);
    assert!(roles.list(a).await.unwrap().is_empty());
    assert!(roles.roles_of_user(a, bob.id).await.unwrap().is_empty());
    assert!(roles.users_with_role(a, theirs.id).await.unwrap().is_empty());

    let hijack = Role {
        tenant_id: a,
        name: "mine".to_owned(),
        ..theirs.clone()
    };
    let results = [
        committed(&*uow, async |tx| roles.update(tx, &hijack).await).await,
        committed(&*uow, async |tx| roles.set_permissions(tx, a, theirs.id, &[]).await).await,
        committed(&*uow, async |tx| {
            roles.assign_to_user(tx, a, ada.id, &[theirs.id]).await
        })
        .await,
        committed(&*uow, async |tx| roles.assign_to_user(tx, a, bob.id, &[]).await).await,
        committed(&*uow, async |tx| roles.revoke_from_user(tx, a, bob.id, theirs.id).await).await,
        committed(&*uow, async |tx| roles.delete(tx, a, theirs.id).await).await,
    ];
    for (i, result) in results.iter().enumerate() {
        assert!(matches!(result, Err(StoreError::NotFound)), "operation {i}: {result:?}");
    }
    assert_eq!(roles.find_by_id(b, theirs.id).await.unwrap(), Some(theirs.clone()));
    assert_eq!(roles.roles_of_user(b, bob.id).await.unwrap(), vec![theirs]);
}
