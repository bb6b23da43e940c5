//! Rate-limited endpoints answer 429 problem+json with `Retry-After`.

use super::*;

#[tokio::test]
async fn limited_endpoints_answer_429_with_retry_after() {
    let app = limited_ports().start().await;
    for (path, body) in [
        (
            "/api/v1/auth/login",
            serde_json::json!({"email": "a@example.com", "password": "x"}),
        ),
        (
            "/api/v1/auth/register",
            serde_json::json!({"email": "a@example.com", "password": "x"}),
        ),
        ("/api/v1/auth/refresh", serde_json::json!({"refresh_token": "t"})),
        (
            "/api/v1/auth/password/forgot",
            serde_json::json!({"email": "a@example.com"}),
        ),
        (
            "/api/v1/auth/password/reset",
            serde_json::json!({"token": "t", "new_password": "x"}),
        ),
    ] {
        let resp = app.client.post(app.url(path)).json(&body).send().await.unwrap();
        assert_eq!(resp.status(), 429, "{path}");
        assert_eq!(resp.headers()["retry-after"], "30", "{path}");
        let problem: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(problem["code"], "rate_limited", "{path}");
    }
}
