//! `GET /api/v1/audit`: filter parsing and the entry shape.

use platform_ports::audit::AuditError;
use platform_ports::audit::AuditFilter;
use platform_ports::audit::permissions as perm;
use platform_ports::model::{FieldError, Page, PageRequest};
use reqwest::Method;
use serde_json::json;

use super::{Ports, TOKEN_USER, authed, entry, is_token_ctx};
use crate::support::problem;

#[tokio::test]
async fn filters_are_parsed_from_the_query() {
    let mut ports = Ports::new().grant(perm::LOG_READ);
    ports
        .auditor
        .expect_query()
        .withf(|ctx, filter, page| {
            is_token_ctx(ctx)
                && *filter
                    == AuditFilter {
                        actor_id: Some(TOKEN_USER),
                        action: Some("user.created".to_owned()),
                        target_id: Some("u-1".to_owned()),
                        from: Some("2026-01-01T00:00:00Z".parse().unwrap()),
                        to: Some("2026-01-31T22:00:00Z".parse().unwrap()),
                    }
                && *page == PageRequest { limit: 5, cursor: None }
        })
        .times(1)
        .returning(|_, _, _| {
            Ok(Page {
                items: vec![entry()],
                next_cursor: None,
            })
        });
    let app = ports.start().await;
    let path = format!(
        "/api/v1/audit?actor_id={TOKEN_USER}&action=user.created&target_id=u-1\
         &from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00%2B02:00&limit=5"
    );
    let response = authed(&app, Method::GET, &path).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "items": [{
                "id": entry().id.to_string(),
                "tenant_id": super::TOKEN_TENANT.to_string(),
                "actor_id": TOKEN_USER.to_string(),
                "action": "user.created",
                "target_id": "u-1",
                "metadata": {"email": "ada@example.com"},
                "occurred_at": "2026-03-04T05:06:07.000000Z",
                "request_id": "r-1",
                "ip": "10.0.0.1",
                "user_agent": "curl",
            }],
            "next_cursor": null,
        })
    );
}

#[tokio::test]
async fn bad_filters_are_400_and_service_refusals_422() {
    let mut ports = Ports::new();
    ports.authorizer.expect_authorize().returning(|_, _| Ok(()));
    ports.auditor.expect_query().times(1).returning(|_, _, _| {
        Err(AuditError::Validation(
            FieldError::new("to", "before_from", "must not be before `from`").into(),
        ))
    });
    let app = ports.start().await;
    for (query, field) in [
        ("from=yesterday", "from"),
        ("to=2026-13-01T00:00:00Z", "to"),
        ("actor_id=me", "actor_id"),
    ] {
        let response = authed(&app, Method::GET, &format!("/api/v1/audit?{query}"))
            .send()
            .await
            .unwrap();
        let body = problem(response, 400, "invalid_parameter").await;
        assert_eq!(body["errors"][0]["field"], field, "{query}");
    }
    let response = authed(
        &app,
        Method::GET,
        "/api/v1/audit?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
    )
    .send()
    .await
    .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "before_from");
}
