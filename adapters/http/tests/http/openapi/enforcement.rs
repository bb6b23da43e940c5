//! What the document says about access is what the routes enforce: each
//! documented permission is the one the authorizer is asked for, secured
//! operations refuse anonymous callers, and public ones admit them.

use std::sync::{Arc, Mutex};

use platform_ports::authz::Permission;
use platform_ports::authz::{AuthzError, MockAuthorizer};
use reqwest::Method;
use serde_json::Value;

use super::{document, documented, serve};
use crate::security::TOKEN;

/// A concrete path for a template: every parameter is a UUID.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "0190f7a8-1b2c-7d3e-8f40-5a6b7c8d9e0f"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_operation_enforces_exactly_what_it_documents() {
    let asked: Arc<Mutex<Vec<Permission>>> = Arc::default();
    let mut authorizer = MockAuthorizer::new();
    let log = Arc::clone(&asked);
    authorizer.expect_authorize().returning(move |_, permission| {
        log.lock().unwrap().push(permission.clone());
        Err(AuthzError::Forbidden(permission.clone()))
    });
    let app = serve(authorizer).await;
    let doc = document();
    let mut checked = 0;
    for (method, template) in documented(&doc) {
        let op = &doc["paths"][&template][method.to_lowercase()];
        let secured = op["security"].as_array().is_some_and(|reqs| !reqs.is_empty());
        let url = app.url(&concrete(&template));
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        // A JSON body that fails validation, so no public route reaches a service.
        let anonymous = app
            .client
            .request(method.clone(), &url)
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        let status = anonymous.status().as_u16();
        if secured {
            assert_eq!(status, 401, "{method} {template} admits anonymous callers");
        } else {
            assert!(
                status != 401 && status != 403,
                "{method} {template} is documented public but answered {status}"
            );
        }
        if let Some(permission) = op["x-permission"].as_str() {
            asked.lock().unwrap().clear();
            let response = app
                .client
                .request(method.clone(), &url)
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 403, "{method} {template}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["code"], "forbidden");
            assert_eq!(
                *asked.lock().unwrap(),
                [Permission::parse(permission).unwrap()],
                "{method} {template} asks for another permission than it documents"
            );
        }
        checked += 1;
    }
    assert!(checked >= 38, "only {checked} operations checked");
}
