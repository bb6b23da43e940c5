//! `GET /api/v1/audit`: the tenant's audit trail, newest first.

use axum::extract::State;
use platform_ports::model::{AuditFilter, UserId};

use crate::extract::{AppJson, Ctx};
use crate::problem::Problem;
use crate::security::SecurityDeps;
use crate::security::dto::{AuditEntryView, ListView};
use crate::security::errors;
use crate::security::params::QueryParams;

/// `GET audit?actor_id=&action=&target_id=&from=&to=&limit=&cursor=`.
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
