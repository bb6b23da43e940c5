//! `{mount}/queues/{queue}/tasks*` and `{mount}/tasks/{id}`: a queue's
//! tasks by state, one task, and what an operator may do to it.

use axum::extract::State;
use http::StatusCode;
use platform_ports::jobs::{JobId, JobState};

use crate::extract::{AppJson, Ctx};
use crate::jobs::dto::{TaskStateView, TaskView};
use crate::jobs::{JobsDeps, audit, errors};
use crate::list::ListView;
use crate::openapi::components::{
    BadRequest, Conflict, Forbidden, NotFound, PageQuery, ServiceUnavailable, Unauthorized,
};
use crate::params::{PathParams, QueryParams, invalid_parameter};
use crate::problem::Problem;

/// A queue's tasks in one state.
///
/// Pending and active tasks come oldest first, scheduled and retrying ones
/// by due time, archived and completed ones by when they got there.
#[utoipa::path(
    get,
    path = "/queues/{queue}/tasks",
    tag = "jobs",
    params(
        ("queue" = String, Path, description = "The queue's name."),
        ("state" = Option<TaskStateView>, Query, description = "The state to list (default `pending`)."),
        PageQuery,
    ),
    responses(
        (status = 200, description = "One page of tasks.", body = ListView<TaskView>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn list(
    State(deps): State<JobsDeps>,
    path: PathParams,
    query: QueryParams,
) -> Result<AppJson<ListView<TaskView>>, Problem> {
    let queue = path.parse::<String>("queue")?;
    let state = match query.text("state")? {
        None => JobState::Pending,
        Some(raw) => JobState::parse(raw).ok_or_else(|| {
            invalid_parameter(
                "state",
                "must be pending, active, scheduled, retry, archived, completed or aggregating",
            )
        })?,
    };
    let page = query.page()?;
    let tasks = deps.admin.jobs(&queue, state, page).await.map_err(errors::admin)?;
    Ok(AppJson(ListView::page(tasks)))
}

/// One task of a queue.
#[utoipa::path(
    get,
    path = "/queues/{queue}/tasks/{id}",
    tag = "jobs",
    params(
        ("queue" = String, Path, description = "The queue's name."),
        ("id" = String, Path, description = "The task's id."),
    ),
    responses(
        (status = 200, description = "The task.", body = TaskView),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn get(State(deps): State<JobsDeps>, path: PathParams) -> Result<AppJson<TaskView>, Problem> {
    let (queue, id) = queue_and_id(&path)?;
    let task = deps.admin.job(&queue, &id).await.map_err(errors::admin)?;
    Ok(AppJson(task.into()))
}

/// A task's status by its id alone: what a client that enqueued a job polls.
///
/// Looks in every queue. A task that succeeded without a retention, was
/// deleted, or is no longer kept is `task_not_found`.
#[utoipa::path(
    get,
    path = "/tasks/{id}",
    tag = "jobs",
    params(("id" = String, Path, description = "The task's id, as enqueueing returned it.")),
    responses(
        (status = 200, description = "The task.", body = TaskView),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn status(State(deps): State<JobsDeps>, path: PathParams) -> Result<AppJson<TaskView>, Problem> {
    let id = path.parse::<JobId>("id")?;
    match deps.queue.status(id.clone()).await.map_err(errors::queue)? {
        Some(task) => Ok(AppJson(task.into())),
        None => Err(Problem::not_found(format!("no task `{id}`"))
            .with_code("task_not_found")
            .with_title("Task not found")),
    }
}

/// Runs a scheduled, retrying or archived task now (it becomes pending).
///
/// Audited as `jobs.task_run`.
#[utoipa::path(
    post,
    path = "/queues/{queue}/tasks/{id}/run",
    tag = "jobs",
    params(
        ("queue" = String, Path, description = "The queue's name."),
        ("id" = String, Path, description = "The task's id."),
    ),
    responses(
        (status = 204, description = "Pending now."),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn run(State(deps): State<JobsDeps>, Ctx(ctx): Ctx, path: PathParams) -> Result<StatusCode, Problem> {
    let (queue, id) = queue_and_id(&path)?;
    deps.admin.run_job(&queue, &id).await.map_err(errors::admin)?;
    audit(&deps, &ctx, "jobs.task_run", &queue, Some(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Archives a task that is not active: it stays, out of the workers' reach.
///
/// Audited as `jobs.task_archived`.
#[utoipa::path(
    post,
    path = "/queues/{queue}/tasks/{id}/archive",
    tag = "jobs",
    params(
        ("queue" = String, Path, description = "The queue's name."),
        ("id" = String, Path, description = "The task's id."),
    ),
    responses(
        (status = 204, description = "Archived."),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn archive(
    State(deps): State<JobsDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
) -> Result<StatusCode, Problem> {
    let (queue, id) = queue_and_id(&path)?;
    deps.admin.archive_job(&queue, &id).await.map_err(errors::admin)?;
    audit(&deps, &ctx, "jobs.task_archived", &queue, Some(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a task that is not active (and releases its uniqueness lock).
///
/// Audited as `jobs.task_deleted`.
#[utoipa::path(
    delete,
    path = "/queues/{queue}/tasks/{id}",
    tag = "jobs",
    params(
        ("queue" = String, Path, description = "The queue's name."),
        ("id" = String, Path, description = "The task's id."),
    ),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn delete(
    State(deps): State<JobsDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
) -> Result<StatusCode, Problem> {
    let (queue, id) = queue_and_id(&path)?;
    deps.admin.delete_job(&queue, &id).await.map_err(errors::admin)?;
    audit(&deps, &ctx, "jobs.task_deleted", &queue, Some(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn queue_and_id(path: &PathParams) -> Result<(String, JobId), Problem> {
    Ok((path.parse::<String>("queue")?, path.parse::<JobId>("id")?))
}
