//! The Jobs API: `{mount}/queues*` and `{mount}/tasks/{id}` (the platform
//! mounts it at `/api/v1/jobs`) over the `JobAdmin` port (queues, tasks by
//! state, operator actions) and the `JobQueue` port (a task's status by id
//! alone, which is what a client that enqueued a job polls).
//!
//! Reading needs `platform.jobs.read`; acting needs `platform.jobs.manage`
//! and leaves an audit entry naming the queue and the task.

mod dto;
mod errors;
mod queues;
mod tasks;

use std::sync::Arc;

use axum::extract::FromRef;
use platform_ports::audit::Auditor;
use platform_ports::authz::Authorizer;
use platform_ports::jobs::permissions as perm;
use platform_ports::jobs::{JobAdmin, JobQueue};
use utoipa_axum::routes;

use crate::module::{Access, ModuleRoutes, Mounted, RouteTable};

/// The driving ports the jobs routes call.
#[derive(Clone)]
pub struct JobsDeps {
    /// Queues and tasks as operators see and manage them.
    pub admin: Arc<dyn JobAdmin>,
    /// A task's status by id alone.
    pub queue: Arc<dyn JobQueue>,
    /// Records the operator actions.
    pub auditor: Arc<dyn Auditor>,
    /// Decides the routes' permissions.
    pub authorizer: Arc<dyn Authorizer>,
}

impl FromRef<Mounted<JobsDeps>> for JobsDeps {
    fn from_ref(state: &Mounted<JobsDeps>) -> Self {
        state.deps.clone()
    }
}

/// Every jobs route under `mount` (`/api/v1/jobs` in the platform's
/// manifest), state applied, with its documentation.
pub fn jobs_routes(deps: JobsDeps, mount: &str) -> ModuleRoutes {
    let needs = Access::Permission;
    RouteTable::new(mount, Arc::clone(&deps.authorizer))
        .route(routes!(queues::list), needs(perm::JOBS_READ))
        .route(routes!(queues::get), needs(perm::JOBS_READ))
        .route(routes!(queues::pause), needs(perm::JOBS_MANAGE))
        .route(routes!(queues::resume), needs(perm::JOBS_MANAGE))
        .route(routes!(tasks::list), needs(perm::JOBS_READ))
        .route(routes!(tasks::get), needs(perm::JOBS_READ))
        .route(routes!(tasks::status), needs(perm::JOBS_READ))
        .route(routes!(tasks::run), needs(perm::JOBS_MANAGE))
        .route(routes!(tasks::archive), needs(perm::JOBS_MANAGE))
        .route(routes!(tasks::delete), needs(perm::JOBS_MANAGE))
        .with_state(deps)
}

/// Records an operator action on `queue` (and `task`) in the audit log.
async fn audit(
    deps: &JobsDeps,
    ctx: &platform_ports::model::RequestContext,
    action: &str,
    queue: &str,
    task: Option<&platform_ports::jobs::JobId>,
) -> Result<(), crate::problem::Problem> {
    let mut metadata = std::collections::BTreeMap::new();
    metadata.insert("queue".to_owned(), serde_json::Value::from(queue));
    let target_id = match task {
        Some(id) => {
            metadata.insert("task_id".to_owned(), serde_json::Value::from(id.as_str()));
            format!("{queue}/{id}")
        }
        None => queue.to_owned(),
    };
    let action = platform_ports::audit::AuditAction {
        actor_id: None,
        action: action.to_owned(),
        target_id: Some(target_id),
        metadata,
    };
    deps.auditor.record(ctx, action).await.map_err(errors::audit)
}
