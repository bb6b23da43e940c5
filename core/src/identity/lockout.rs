//! No lock-out: a tenant that has an administrator keeps one.
//!
//! An administrator, here, is a user whose roles together grant every
//! [`KEEPER`] permission: with `identity.role.update` they can give a role
//! they hold any permission, and with `identity.role.assign` hand any role to
//! anyone, so every other permission can be won back from them. A change
//! that would take the last such user away (deleting them, revoking the
//! role that makes them one, stripping the role's permissions, deleting the
//! role) is refused with the conflict `last_admin`. A tenant that has no
//! administrator is not guarded (nothing is lost by the change);
//! `platform admin create` is the way back in either way.
//!
//! The check reads the roles before the change is written, in the same use
//! case: two administrators removing each other at the same instant can
//! still race past it; the bootstrap command remains the way back.

use std::collections::{HashMap, HashSet};

use platform_ports::authz::Permission;
use platform_ports::identity::{IdentityError, Role, RoleRepository};
use platform_ports::model::{TenantId, UserId};

use super::failures::store_error;
use crate::permissions::{ROLE_ASSIGN, ROLE_UPDATE};

/// The permissions that make a user an administrator (see the module docs).
pub const KEEPER: [Permission; 2] = [ROLE_ASSIGN, ROLE_UPDATE];

/// The conflict code of a refused change.
pub const LAST_ADMIN: &str = "last_admin";

/// A change that may take administrators away.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Change<'a> {
    /// The user is deleted.
    DeleteUser(UserId),
    /// `role` is taken from `user`.
    Revoke {
        /// Who loses the role.
        user: UserId,
        /// The role, as stored.
        role: &'a Role,
    },
    /// `role`'s permissions become `to`.
    SetPermissions {
        /// The role, as stored (its current permissions).
        role: &'a Role,
        /// The new set.
        to: &'a [Permission],
    },
    /// The role is deleted, with its assignments.
    DeleteRole(&'a Role),
}

fn grants_keeper(permissions: &[Permission]) -> bool {
    permissions.iter().any(|p| KEEPER.contains(p))
}

/// `Err(Conflict("last_admin"))` when `change` would leave `tenant`, which has
/// an administrator, with none.
pub(crate) async fn refuse_lockout(
    roles: &dyn RoleRepository,
    tenant: TenantId,
    change: Change<'_>,
) -> Result<(), IdentityError> {
    // Most changes cannot lose a keeper permission: answer those without a read.
    match change {
        Change::Revoke { role, .. } | Change::DeleteRole(role) if !grants_keeper(&role.permissions) => return Ok(()),
        Change::SetPermissions { role, to }
            if KEEPER.iter().all(|k| !role.permissions.contains(k) || to.contains(k)) =>
        {
            return Ok(());
        }
        _ => {}
    }
    let all = roles.list(tenant).await.map_err(store_error)?;
    let mut before: HashMap<UserId, HashSet<&Permission>> = HashMap::new();
    let mut after: HashMap<UserId, HashSet<&Permission>> = HashMap::new();
    for role in all.iter().filter(|r| grants_keeper(&r.permissions)) {
        let new_permissions: &[Permission] = match change {
            Change::SetPermissions { role: changed, to } if changed.id == role.id => to,
            Change::DeleteRole(deleted) if deleted.id == role.id => &[],
            _ => &role.permissions,
        };
        let holders = roles.users_with_role(tenant, role.id).await.map_err(store_error)?;
        for user in holders {
            let kept = keepers(&role.permissions);
            before.entry(user).or_default().extend(kept);
            let gone = match change {
                Change::DeleteUser(deleted) => deleted == user,
                Change::Revoke {
                    user: loser,
                    role: revoked,
                } => loser == user && revoked.id == role.id,
                _ => false,
            };
            if !gone {
                after.entry(user).or_default().extend(keepers(new_permissions));
            }
        }
    }
    let admins =
        |held: &HashMap<UserId, HashSet<&Permission>>| held.values().filter(|p| p.len() == KEEPER.len()).count();
    if admins(&before) > 0 && admins(&after) == 0 {
        tracing::info!(?change, "refused: the tenant would have no administrator left");
        return Err(IdentityError::Conflict(LAST_ADMIN.to_owned()));
    }
    Ok(())
}

/// The keeper permissions among `permissions`.
fn keepers(permissions: &[Permission]) -> impl Iterator<Item = &Permission> {
    permissions.iter().filter(|p| KEEPER.contains(p))
}

#[cfg(test)]
mod tests {
    use platform_ports::identity::MockRoleRepository;
    use platform_ports::model::RoleId;
    use uuid::Uuid;

    use super::*;
    use crate::permissions::{ALL, USER_READ};
    use crate::testing::{TENANT, now};

    fn role(id: u128, permissions: &[Permission]) -> Role {
        Role {
            id: RoleId(Uuid::from_u128(id)),
            tenant_id: TENANT,
            name: format!("r{id}"),
            description: None,
            permissions: permissions.to_vec(),
            created_at: now(),
            updated_at: now(),
        }
    }

    fn user(id: u128) -> UserId {
        UserId(Uuid::from_u128(id))
    }

    /// A repository holding `roles`, each with its holders.
    fn repo(roles: Vec<(Role, Vec<UserId>)>) -> MockRoleRepository {
        let mut mock = MockRoleRepository::new();
        let listed: Vec<Role> = roles.iter().map(|(r, _)| r.clone()).collect();
        mock.expect_list().returning(move |_| Ok(listed.clone()));
        mock.expect_users_with_role().returning(move |_, id| {
            Ok(roles
                .iter()
                .find(|(r, _)| r.id == id)
                .map(|(_, u)| u.clone())
                .unwrap_or_default())
        });
        mock
    }

    fn is_last_admin(result: Result<(), IdentityError>) -> bool {
        matches!(result, Err(IdentityError::Conflict(code)) if code == LAST_ADMIN)
    }

    #[tokio::test]
    async fn the_last_administrator_cannot_be_deleted_or_stripped() {
        let admin = role(1, ALL);
        let repo = repo(vec![(admin.clone(), vec![user(10)])]);
        assert!(is_last_admin(
            refuse_lockout(&repo, TENANT, Change::DeleteUser(user(10))).await
        ));
        let revoke = Change::Revoke {
            user: user(10),
            role: &admin,
        };
        assert!(is_last_admin(refuse_lockout(&repo, TENANT, revoke).await));
        let strip = Change::SetPermissions { role: &admin, to: &[] };
        assert!(is_last_admin(refuse_lockout(&repo, TENANT, strip).await));
        let half = Change::SetPermissions {
            role: &admin,
            to: &[ROLE_ASSIGN],
        };
        assert!(is_last_admin(refuse_lockout(&repo, TENANT, half).await));
        assert!(is_last_admin(
            refuse_lockout(&repo, TENANT, Change::DeleteRole(&admin)).await
        ));
        // Anyone else may go.
        assert!(
            refuse_lockout(&repo, TENANT, Change::DeleteUser(user(11)))
                .await
                .is_ok()
        );
        let keep = Change::SetPermissions {
            role: &admin,
            to: &KEEPER,
        };
        assert!(refuse_lockout(&repo, TENANT, keep).await.is_ok());
    }

    #[tokio::test]
    async fn a_second_administrator_or_split_roles_keep_the_tenant_open() {
        let admin = role(1, ALL);
        let assign = role(2, &[ROLE_ASSIGN]);
        let update = role(3, &[ROLE_UPDATE, USER_READ]);
        // 10 is an administrator through one role, 20 through two.
        let repo = repo(vec![
            (admin.clone(), vec![user(10)]),
            (assign.clone(), vec![user(20)]),
            (update.clone(), vec![user(20)]),
        ]);
        assert!(
            refuse_lockout(&repo, TENANT, Change::DeleteUser(user(10)))
                .await
                .is_ok()
        );
        assert!(refuse_lockout(&repo, TENANT, Change::DeleteRole(&admin)).await.is_ok());
        // Without `admin`, 20 would be the last: their split roles count as one.
        let repo_after = self::repo(vec![(assign.clone(), vec![user(20)]), (update.clone(), vec![user(20)])]);
        let revoke = Change::Revoke {
            user: user(20),
            role: &update,
        };
        assert!(is_last_admin(refuse_lockout(&repo_after, TENANT, revoke).await));
        let strip = Change::SetPermissions {
            role: &assign,
            to: &[USER_READ],
        };
        assert!(is_last_admin(refuse_lockout(&repo_after, TENANT, strip).await));
    }

    #[tokio::test]
    async fn harmless_changes_read_nothing_and_tenants_without_admins_are_not_guarded() {
        // No expectation: a read would panic.
        let none = MockRoleRepository::new();
        let reader = role(5, &[USER_READ]);
        let revoke = Change::Revoke {
            user: user(1),
            role: &reader,
        };
        assert!(refuse_lockout(&none, TENANT, revoke).await.is_ok());
        assert!(refuse_lockout(&none, TENANT, Change::DeleteRole(&reader)).await.is_ok());
        let admin = role(1, ALL);
        let more = Change::SetPermissions { role: &admin, to: ALL };
        assert!(refuse_lockout(&none, TENANT, more).await.is_ok());

        let empty = repo(vec![(role(1, ALL), vec![])]);
        assert!(
            refuse_lockout(&empty, TENANT, Change::DeleteUser(user(1)))
                .await
                .is_ok()
        );
    }
}
