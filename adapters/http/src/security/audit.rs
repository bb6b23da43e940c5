//! `GET /api/v1/audit`: the tenant's audit trail, newest first;
//! `GET /api/v1/audit/verify`: whether its hash chain is intact.

use axum::extract::State;
use platform_ports::audit::AuditFilter;
use platform_ports::model::UserId;

use crate::extract::{AppJson, Ctx};
use crate::list::ListView;
use crate::openapi::components::{BadRequest, Forbidden, PageQuery, ServiceUnavailable, Unauthorized, Unprocessable};
use crate::params::QueryParams;
use crate::problem::Problem;
use crate::security::SecurityDeps;
use crate::security::dto::{AuditEntryView, ChainReportView};
use crate::security::errors;

/// The tenant's audit trail, newest first.
#[utoipa::path(
    get,
    path = "/audit",
    tag = "audit",
    params(
        ("actor_id" = Option<uuid::Uuid>, Query, description = "Only entries by this user."),
        ("action" = Option<String>, Query, min_length = 1, pattern = r"^[^\u0000-\u001F\u007F-\u009F]+$", description = "Only this action, e.g. `user.created`."),
        ("target_id" = Option<String>, Query, min_length = 1, pattern = r"^[^\u0000-\u001F\u007F-\u009F]+$", description = "Only entries about this target."),
        ("from" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "Only entries at or after this RFC 3339 time."),
        ("to" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "Only entries before this RFC 3339 time."),
        PageQuery,
    ),
    responses(
        (status = 200, description = "One page of entries.", body = ListView<AuditEntryView>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn query(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
    query: QueryParams,
) -> Result<AppJson<ListView<AuditEntryView>>, Problem> {
    let filter = AuditFilter {
        actor_id: query.parse::<UserId>("actor_id")?,
        action: query.text("action")?.map(str::to_owned),
        target_id: query.text("target_id")?.map(str::to_owned),
        from: query.timestamp("from")?,
        to: query.timestamp("to")?,
    };
    let page = query.page()?;
    let entries = deps.auditor.query(&ctx, filter, page).await.map_err(errors::audit)?;
    Ok(AppJson(ListView::page(entries)))
}

/// Walks the tenant's audit hash chain and reports the first broken link,
/// or how many entries were verified. A broken chain is a `200` with
/// `intact: false`: the report is the answer, not an error.
#[utoipa::path(
    get,
    path = "/audit/verify",
    tag = "audit",
    responses(
        (status = 200, description = "The chain's state.", body = ChainReportView),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn verify(
    State(deps): State<SecurityDeps>,
    Ctx(ctx): Ctx,
) -> Result<AppJson<ChainReportView>, Problem> {
    let report = deps.auditor.verify(ctx.tenant_id).await.map_err(errors::audit)?;
    Ok(AppJson(report.into()))
}
