//! `{mount}/webhooks*` (`/api/v1/webhooks*`).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::LOCATION;
use platform_ports::webhooks::{DeliveryId, WebhookError, WebhookId};

use crate::extract::{AppJson, Ctx};
use crate::list::ListView;
use crate::module::Mount;
use crate::openapi::components::{BadRequest, Forbidden, NotFound, ServiceUnavailable, Unauthorized, Unprocessable};
use crate::params::PathParams;
use crate::problem::Problem;
use crate::webhooks::WebhookDeps;
use crate::webhooks::dto::{DeliveryView, WebhookBody, WebhookPatchBody, WebhookView};

/// The webhook port's errors as problems.
fn problem(err: WebhookError) -> Problem {
    match err {
        WebhookError::Validation(errors) => Problem::unprocessable(errors),
        WebhookError::NotFound => Problem::not_found("no such webhook subscription or delivery"),
        err @ WebhookError::Backend(_) => Problem::service_unavailable().with_cause(err),
    }
}

/// Subscribes a URL to event types.
///
/// The answer is the only place the signing secret (`whsec_…`) is shown.
#[utoipa::path(
    post,
    path = "/webhooks",
    tag = "webhooks",
    request_body = WebhookBody,
    responses(
        (status = 201, description = "Created, with its secret.", body = WebhookView,
            headers(("Location" = String, description = "`/api/v1/webhooks/{id}`"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn create(
    State(deps): State<WebhookDeps>,
    State(mount): State<Mount>,
    Ctx(ctx): Ctx,
    AppJson(body): AppJson<WebhookBody>,
) -> Result<Response, Problem> {
    let subscription = deps.webhooks.create(&ctx, body.into()).await.map_err(problem)?;
    let location = mount.path(format_args!("/webhooks/{}", subscription.id));
    Ok((
        StatusCode::CREATED,
        [(LOCATION, location)],
        AppJson(WebhookView::created(subscription)),
    )
        .into_response())
}

/// The tenant's subscriptions, oldest first.
#[utoipa::path(
    get,
    path = "/webhooks",
    tag = "webhooks",
    responses(
        (status = 200, description = "Every subscription of the tenant.", body = ListView<WebhookView>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn list(
    State(deps): State<WebhookDeps>,
    Ctx(ctx): Ctx,
) -> Result<AppJson<ListView<WebhookView>>, Problem> {
    let all = deps.webhooks.list(&ctx).await.map_err(problem)?;
    Ok(AppJson(ListView::all(all.into_iter().map(WebhookView::from).collect())))
}

/// One subscription.
#[utoipa::path(
    get,
    path = "/webhooks/{id}",
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "The subscription's id.")),
    responses(
        (status = 200, description = "The subscription.", body = WebhookView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn get(
    State(deps): State<WebhookDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
) -> Result<AppJson<WebhookView>, Problem> {
    let id = path.parse::<WebhookId>("id")?;
    let subscription = deps.webhooks.get(&ctx, id).await.map_err(problem)?;
    Ok(AppJson(subscription.into()))
}

/// Changes a subscription's URL, event types or active flag.
#[utoipa::path(
    patch,
    path = "/webhooks/{id}",
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "The subscription's id.")),
    request_body = WebhookPatchBody,
    responses(
        (status = 200, description = "The changed subscription.", body = WebhookView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn update(
    State(deps): State<WebhookDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
    AppJson(body): AppJson<WebhookPatchBody>,
) -> Result<AppJson<WebhookView>, Problem> {
    let id = path.parse::<WebhookId>("id")?;
    let subscription = deps.webhooks.update(&ctx, id, body.into()).await.map_err(problem)?;
    Ok(AppJson(subscription.into()))
}

/// Deletes a subscription and its delivery log.
#[utoipa::path(
    delete,
    path = "/webhooks/{id}",
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "The subscription's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn delete(
    State(deps): State<WebhookDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
) -> Result<StatusCode, Problem> {
    let id = path.parse::<WebhookId>("id")?;
    deps.webhooks.delete(&ctx, id).await.map_err(problem)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The subscription's delivery log: the latest 100, newest first.
#[utoipa::path(
    get,
    path = "/webhooks/{id}/deliveries",
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "The subscription's id.")),
    responses(
        (status = 200, description = "Status, attempts, last response code and duration of each delivery.",
            body = ListView<DeliveryView>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn deliveries(
    State(deps): State<WebhookDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
) -> Result<AppJson<ListView<DeliveryView>>, Problem> {
    let id = path.parse::<WebhookId>("id")?;
    let log = deps.webhooks.deliveries(&ctx, id).await.map_err(problem)?;
    Ok(AppJson(ListView::all(
        log.into_iter().map(DeliveryView::from).collect(),
    )))
}

/// Sends a delivery again, with the same `webhook-id` and a fresh budget of attempts.
#[utoipa::path(
    post,
    path = "/webhooks/{id}/deliveries/{delivery_id}/redeliver",
    tag = "webhooks",
    params(
        ("id" = uuid::Uuid, Path, description = "The subscription's id."),
        ("delivery_id" = uuid::Uuid, Path, description = "The delivery's id."),
    ),
    responses(
        (status = 202, description = "Queued again.", body = DeliveryView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn redeliver(
    State(deps): State<WebhookDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
) -> Result<Response, Problem> {
    let id = path.parse::<WebhookId>("id")?;
    let delivery = path.parse::<DeliveryId>("delivery_id")?;
    let queued = deps.webhooks.redeliver(&ctx, id, delivery).await.map_err(problem)?;
    Ok((StatusCode::ACCEPTED, AppJson(DeliveryView::from(queued))).into_response())
}
