//! What holds for every operation, applied once to the merged document: the
//! bearer scheme, the access rule spelled out in each description, unique
//! operation ids, the `x-request-id` header on every response, and the
//! problem responses every operation of its kind can give (so a route added
//! by any module documents them without repeating them).

use utoipa::Modify;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::schema::ObjectBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi, Ref, RefOr, Response, Type};

/// The security scheme's name, as operations reference it.
pub(crate) const BEARER: &str = "bearer_auth";
/// The operation extension naming the permission a route requires.
pub(crate) const PERMISSION_EXTENSION: &str = "x-permission";

/// See the module docs.
pub(crate) struct Conventions;

impl Modify for Conventions {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "The `access_token` of `POST /api/v1/auth/login` or `/refresh`; it names the tenant.",
                    ))
                    .build(),
            ),
        );
        for response in components.responses.values_mut() {
            echo_request_id(response);
        }
        for (path, item) in &mut doc.paths.paths {
            let api = path.starts_with("/api/");
            for operation in operations_mut(item) {
                document_shared_problems(operation, api);
                describe_access(operation);
                qualify_operation_id(operation);
                for response in operation.responses.responses.values_mut() {
                    echo_request_id(response);
                }
            }
        }
    }
}

/// The problems any operation of its kind can answer, added where the
/// handler's own list left them out:
/// - 400 `invalid_parameter` / `malformed_body` / `invalid_tenant` when it
///   takes parameters or a body;
/// - 422 when it takes a body (a non-object body, a field out of its rules) or
///   a `cursor` (one the list did not return);
/// - 401 when it needs a token, 403 when it needs a permission;
/// - 503 (with `Retry-After`) for every API operation: each reaches a
///   dependency (database, cache, authorizer) that can be down.
fn document_shared_problems(operation: &mut Operation, api: bool) {
    let params = operation.parameters.as_deref().unwrap_or_default();
    let has_params = !params.is_empty();
    let has_cursor = params
        .iter()
        .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Query && p.name == "cursor"));
    let has_body = operation.request_body.is_some();
    let secured = operation.security.as_ref().is_some_and(|reqs| !reqs.is_empty());
    let permission = operation
        .extensions
        .as_ref()
        .is_some_and(|ext| ext.contains_key(PERMISSION_EXTENSION));
    let responses = &mut operation.responses.responses;
    let mut ensure = |status: &str, component: &str| {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(component)));
    };
    if has_params || has_body {
        ensure("400", "BadRequest");
    }
    if secured {
        ensure("401", "Unauthorized");
    }
    if permission {
        ensure("403", "Forbidden");
    }
    if has_body || has_cursor {
        ensure("422", "Unprocessable");
    }
    if api {
        ensure("503", "ServiceUnavailable");
    }
}

/// Every operation of a path item.
pub(crate) fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
        &mut item.query,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// Ends the description with who may call the operation, from its
/// `x-permission` extension and security requirement, so the sentence
/// cannot disagree with what the document declares.
fn describe_access(operation: &mut Operation) {
    let permission = operation
        .extensions
        .as_ref()
        .and_then(|ext| ext.get(PERMISSION_EXTENSION))
        .and_then(|value| value.as_str())
        .map(str::to_owned);
    let secured = operation.security.as_ref().is_some_and(|reqs| !reqs.is_empty());
    let rule = match (permission, secured) {
        (Some(permission), _) => {
            format!(
                "**Permission:** `{permission}` (bearer token whose user holds it; 401 without, 403 without the permission)."
            )
        }
        (None, true) => "**Permission:** none; a valid bearer token is required (401 without).".to_owned(),
        (None, false) => "**Permission:** none; public.".to_owned(),
    };
    operation.description = Some(match operation.description.take() {
        Some(text) if !text.is_empty() => format!("{text}\n\n{rule}"),
        _ => rule,
    });
}

/// Handlers of different modules share names (`list`, `get`), and operation
/// ids must be unique: prefix each with its tag (`blog_list`, `users_list`).
fn qualify_operation_id(operation: &mut Operation) {
    let tag = operation.tags.as_ref().and_then(|tags| tags.first());
    if let (Some(tag), Some(id)) = (tag, operation.operation_id.as_mut()) {
        *id = format!("{tag}_{id}");
    }
}

/// Every response carries `x-request-id`.
fn echo_request_id(response: &mut RefOr<Response>) {
    if let RefOr::T(response) = response {
        response.headers.insert(
            "x-request-id".to_owned(),
            HeaderBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::String).build()))
                .description(Some("The request's id: the caller's when sane, else a generated one."))
                .build()
                .into(),
        );
    }
}
