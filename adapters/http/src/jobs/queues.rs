//! `{mount}/queues*` (`/api/v1/jobs/queues*`): queues, their sizes and
//! counters, pausing and resuming.

use axum::extract::State;
use http::StatusCode;

use crate::extract::{AppJson, Ctx};
use crate::jobs::dto::QueueView;
use crate::jobs::{JobsDeps, audit, errors};
use crate::list::ListView;
use crate::openapi::components::{Conflict, Forbidden, NotFound, ServiceUnavailable, Unauthorized};
use crate::params::PathParams;
use crate::problem::Problem;

/// Every queue with its size per state and today's processed and failed counts.
///
/// A queue exists once a task was enqueued on it (by this platform or any
/// asynq client); the list is sorted by name and not paged.
#[utoipa::path(
    get,
    path = "/queues",
    tag = "jobs",
    responses(
        (status = 200, description = "Every queue.", body = ListView<QueueView>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn list(State(deps): State<JobsDeps>) -> Result<AppJson<ListView<QueueView>>, Problem> {
    let queues = deps.admin.queues().await.map_err(errors::admin)?;
    Ok(AppJson(ListView::all(
        queues.into_iter().map(QueueView::from).collect(),
    )))
}

/// One queue's sizes and counters.
#[utoipa::path(
    get,
    path = "/queues/{queue}",
    tag = "jobs",
    params(("queue" = String, Path, description = "The queue's name.")),
    responses(
        (status = 200, description = "The queue.", body = QueueView),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn get(State(deps): State<JobsDeps>, path: PathParams) -> Result<AppJson<QueueView>, Problem> {
    let queue = path.parse::<String>("queue")?;
    let stats = deps.admin.queue(&queue).await.map_err(errors::admin)?;
    Ok(AppJson(stats.into()))
}

/// Pauses a queue: workers stop taking its tasks (enqueueing goes on).
///
/// Audited as `jobs.queue_paused`.
#[utoipa::path(
    post,
    path = "/queues/{queue}/pause",
    tag = "jobs",
    params(("queue" = String, Path, description = "The queue's name.")),
    responses(
        (status = 204, description = "Paused."),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn pause(
    State(deps): State<JobsDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
) -> Result<StatusCode, Problem> {
    let queue = path.parse::<String>("queue")?;
    deps.admin.pause_queue(&queue).await.map_err(errors::admin)?;
    audit(&deps, &ctx, "jobs.queue_paused", &queue, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Resumes a paused queue.
///
/// Audited as `jobs.queue_resumed`.
#[utoipa::path(
    post,
    path = "/queues/{queue}/resume",
    tag = "jobs",
    params(("queue" = String, Path, description = "The queue's name.")),
    responses(
        (status = 204, description = "Resumed."),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn resume(
    State(deps): State<JobsDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
) -> Result<StatusCode, Problem> {
    let queue = path.parse::<String>("queue")?;
    deps.admin.resume_queue(&queue).await.map_err(errors::admin)?;
    audit(&deps, &ctx, "jobs.queue_resumed", &queue, None).await?;
    Ok(StatusCode::NO_CONTENT)
}
