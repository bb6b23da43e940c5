//! `/openapi.json`: OpenAPI 3.1, the bearer scheme, problem+json errors,
//! resolvable references, and permissions stated where they apply.

use std::collections::BTreeSet;

use platform_adapter_http::problem::Problem;
use platform_ports::authz::MockAuthorizer;
use platform_ports::model::FieldError;
use serde_json::Value;

use super::{document, documented, serve};

/// Every operation: `(method, path, operation)`.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    documented(doc)
        .into_iter()
        .map(|(method, path)| {
            let op = doc["paths"][&path][method.to_lowercase()].clone();
            (method, path, op)
        })
        .collect()
}

/// Follows a `$ref` inside the document.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.strip_prefix('#').unwrap();
            resolve(
                doc,
                doc.pointer(pointer).unwrap_or_else(|| panic!("dangling {reference}")),
            )
        }
        None => value,
    }
}

#[tokio::test]
async fn the_served_document_is_openapi_3_1_with_the_bearer_scheme() {
    let app = serve(MockAuthorizer::new()).await;
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let served: Value = response.json().await.unwrap();
    assert_eq!(served["openapi"], "3.1.0");
    assert_eq!(
        served["components"]["securitySchemes"]["bearer_auth"],
        serde_json::json!({
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": served["components"]["securitySchemes"]["bearer_auth"]["description"],
        })
    );
    assert_eq!(served, document(), "the endpoint serves openapi()");
}

#[test]
fn every_reference_resolves() {
    fn walk(doc: &Value, value: &Value, seen: &mut usize) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref") {
                    let pointer = reference.strip_prefix('#').expect("local references only");
                    assert!(doc.pointer(pointer).is_some(), "dangling {reference}");
                    *seen += 1;
                }
                map.values().for_each(|v| walk(doc, v, seen));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(doc, v, seen)),
            _ => {}
        }
    }
    let doc = document();
    let mut seen = 0;
    walk(&doc, &doc, &mut seen);
    assert!(
        seen > 50,
        "only {seen} references: the document is thinner than expected"
    );
}

#[test]
fn operations_are_tagged_summarized_and_uniquely_named() {
    let doc = document();
    let tags: BTreeSet<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let mut ids = BTreeSet::new();
    for (method, path, op) in operations(&doc) {
        let tag = op["tags"][0].as_str().unwrap_or_default();
        assert!(tags.contains(tag), "{method} {path}: tag `{tag}` is not declared");
        assert!(
            !op["summary"].as_str().unwrap_or_default().is_empty(),
            "{method} {path}: no summary"
        );
        let id = op["operationId"].as_str().unwrap().to_owned();
        assert!(
            ids.insert(id.clone()),
            "{method} {path}: operationId `{id}` is not unique"
        );
    }
}

#[test]
fn path_parameters_and_bodies_are_described() {
    let doc = document();
    for (method, path, op) in operations(&doc) {
        let declared: BTreeSet<String> = op["parameters"]
            .as_array()
            .map(|params| {
                params
                    .iter()
                    .map(|p| resolve(&doc, p))
                    .filter(|p| p["in"] == "path")
                    .map(|p| p["name"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        let in_template: BTreeSet<String> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_owned)
            .collect();
        assert_eq!(declared, in_template, "{method} {path}: path parameters");
        if let Some(body) = op.get("requestBody") {
            // JSON bodies have their schema; uploads (the files routes) are
            // described by their bytes' content type.
            let content = resolve(&doc, body)["content"].clone();
            let described = content
                .as_object()
                .is_some_and(|c| !c.is_empty() && c.values().all(|media| media["schema"].is_object()));
            assert!(described, "{method} {path}: a request body without a schema");
        }
        let success = op["responses"]
            .as_object()
            .unwrap()
            .keys()
            .filter(|status| status.starts_with('2'))
            .count();
        assert_eq!(success, 1, "{method} {path}: one success response");
    }
}

#[test]
fn errors_are_problem_json_and_guarded_routes_document_401_and_403() {
    let doc = document();
    for (method, path, op) in operations(&doc) {
        let responses = op["responses"].as_object().unwrap();
        for (status, response) in responses {
            // Readiness answers its own document with 503, by design.
            if status.starts_with('2') || (path == "/ready" && status == "503") {
                continue;
            }
            let content = &resolve(&doc, response)["content"];
            assert_eq!(
                content["application/problem+json"]["schema"]["$ref"], "#/components/schemas/Problem",
                "{method} {path} {status}"
            );
        }
        let secured = op["security"]
            .as_array()
            .is_some_and(|reqs| reqs.iter().any(|r| r.get("bearer_auth").is_some()));
        if secured {
            assert!(responses.contains_key("401"), "{method} {path}: no 401");
        }
        let description = op["description"].as_str().unwrap_or_default();
        match op["x-permission"].as_str() {
            Some(permission) => {
                assert!(secured, "{method} {path}: a permission without the bearer scheme");
                assert!(responses.contains_key("403"), "{method} {path}: no 403");
                assert!(
                    description.contains(&format!("`{permission}`")),
                    "{method} {path}: the description does not name {permission}"
                );
            }
            None => assert!(
                description.contains("**Permission:** none"),
                "{method} {path}: {description}"
            ),
        }
    }
}

#[test]
fn the_problem_schema_lists_exactly_what_a_problem_serializes() {
    let doc = document();
    let schema = &doc["components"]["schemas"]["Problem"];
    let documented: BTreeSet<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let problem = Problem::unprocessable(FieldError::new("title", "required", "is required").into())
        .with_instance("/x")
        .with_request_id("r");
    let body: Value = serde_json::from_slice(&problem.to_json()).unwrap();
    let serialized: BTreeSet<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(documented, serialized);
    let field_error: BTreeSet<&str> = doc["components"]["schemas"]["FieldError"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let sent: BTreeSet<&str> = body["errors"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(field_error, sent);
    for required in schema["required"].as_array().unwrap() {
        assert!(serialized.contains(required.as_str().unwrap()));
    }
}

#[test]
fn lists_use_the_envelope() {
    let doc = document();
    for name in ["ListView_Post", "ListView_User", "ListView_Role", "ListView_AuditEntry"] {
        let schema = &doc["components"]["schemas"][name];
        assert_eq!(
            schema["required"],
            serde_json::json!(["items", "next_cursor"]),
            "{name}"
        );
        assert_eq!(schema["properties"]["items"]["type"], "array", "{name}");
    }
}

/// A query parameter of an operation.
fn parameter(op: &Value, name: &str) -> Value {
    op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no parameter `{name}` in {op}"))
}

#[test]
fn uploads_and_downloads_say_what_the_server_takes_and_gives() {
    let doc = document();
    let op = |path: &str, method: &str| doc["paths"][path][method].clone();
    for (path, method, media) in [
        ("/api/v1/files", "post", "application/octet-stream"),
        (
            "/api/v1/blog/posts/{id}/attachments",
            "post",
            "application/octet-stream",
        ),
        ("/api/v1/blog/posts/{id}/cover", "put", "image/*"),
    ] {
        let op = op(path, method);
        // Any bytes are a file: a typed schema (it was an array of integers)
        // would call valid uploads invalid.
        let body = &op["requestBody"]["content"][media]["schema"];
        assert!(
            body.is_object() && body.get("type").is_none(),
            "{method} {path}: {body}"
        );
        let filename = parameter(&op, "filename");
        assert_eq!(filename["schema"]["minLength"], 1, "{path}");
        assert!(filename["schema"]["pattern"].is_string(), "{path}");
        assert!(op["responses"]["422"].is_object(), "{path}");
    }
    // A download carries the type it was uploaded with.
    for path in ["/api/v1/files/{id}/content", "/api/v1/files/signed/{key}"] {
        let content = &op(path, "get")["responses"]["200"]["content"];
        assert!(content["*/*"].is_object(), "{path}: {content}");
    }
    let signature = parameter(&op("/api/v1/files/signed/{key}", "get"), "signature");
    assert_eq!(signature["schema"]["pattern"], "^[0-9A-Fa-f]{64}$");
    let ttl = parameter(&op("/api/v1/files/{id}/signed-url", "post"), "ttl_seconds");
    assert_eq!(
        (ttl["schema"]["minimum"].as_u64(), ttl["schema"]["maximum"].as_u64()),
        (Some(1), Some(604_800))
    );
}

#[test]
fn an_api_key_body_states_its_rules() {
    let doc = document();
    let body = &doc["components"]["schemas"]["CreateApiKeyBody"]["properties"];
    assert_eq!(body["scopes"]["minItems"], 1, "{body}");
    assert!(body["scopes"]["items"]["pattern"].is_string(), "{body}");
    assert_eq!(body["expires_at"]["format"], "date-time", "{body}");
    // The 100-character limit is on the trimmed name, so the pattern holds it.
    let name = body["name"]["pattern"].as_str().unwrap();
    assert!(name.contains("{0,98}"), "{name}");
}
