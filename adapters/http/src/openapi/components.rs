//! The pieces many operations share: problem+json responses and parameters.
//!
//! Each problem response names the codes clients branch on; the schema is
//! the one `Problem` serializes (`crate::problem::Wire`).

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder, Type};
use utoipa::{IntoParams, PartialSchema, ToResponse, ToSchema};

use crate::problem::{PROBLEM_JSON, Wire};

/// A problem+json response with `description`.
fn problem(description: &str) -> ResponseBuilder {
    let schema = Ref::from_schema_name(<Wire<'_> as ToSchema>::name());
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, ContentBuilder::new().schema(Some(schema)).build())
}

/// Declares a unit type per problem response; `$extra` adds headers.
macro_rules! problem_responses {
    ($( $(#[$doc:meta])* $name:ident = $description:literal $(, |$builder:ident| $extra:expr)? ;)+) => {
        $(
            $(#[$doc])*
            pub(crate) struct $name;

            impl<'s> ToResponse<'s> for $name {
                fn response() -> (&'s str, RefOr<Response>) {
                    let builder = problem($description);
                    $( let builder = { let $builder = builder; $extra }; )?
                    (stringify!($name), builder.build().into())
                }
            }
        )+
    };
}

problem_responses! {
    /// 400.
    BadRequest = "`malformed_body` (not JSON, or no JSON content type), `invalid_parameter` \
        (a bad path or query value, an empty one, or one with a control character; `errors` \
        names it), `invalid_tenant` (an empty or malformed `x-tenant-id`) \
        or `invalid_token` (a mailed token is invalid, expired or used).";
    /// 401, with the `Bearer` challenge.
    Unauthorized = "`unauthorized`: the access token is missing, invalid or expired. The auth \
        routes also answer `invalid_credentials` (login) and `invalid_token` (refresh token).",
        |b| b.header("WWW-Authenticate", HeaderBuilder::new()
            .schema(Some(ObjectBuilder::new().schema_type(Type::String).build()))
            .description(Some("Always `Bearer`."))
            .build());
    /// 403.
    Forbidden = "`forbidden`: authenticated, but the caller lacks the permission (the detail \
        names it); `email_not_verified` when login needs a verified email.";
    /// 404.
    NotFound = "`not_found`: no such resource in the caller's tenant (also what another \
        tenant's resources look like); the Jobs API answers `queue_not_found` or `task_not_found`.";
    /// 409.
    Conflict = "`conflict`, `email_taken`, `role_name_taken`, `last_admin` (the change would \
        leave the tenant without a user whose roles grant `identity.role.assign` and \
        `identity.role.update`) or `invalid_transition` (the workflow does not allow the move; \
        the detail says from and to which status); the Jobs API answers `task_state_conflict`, \
        `queue_already_paused` or `queue_not_paused`.";
    /// 413.
    PayloadTooLarge = "`payload_too_large`: the upload is larger than `blob.max_upload_bytes` \
        (refused as soon as the streamed body passes it; nothing is stored).";
    /// 415.
    UnsupportedMediaType = "`unsupported_media_type`: no `Content-Type`, or one outside \
        `blob.allowed_content_types` (a cover must also be an `image/*`).";
    /// 403 on a signed URL.
    SignedUrlRefused = "`invalid_signature` (any part of the URL was changed), \
        `signed_url_expired` or `signed_url_unavailable` (no signing key, or the store signs its own URLs).";
    /// 422.
    Unprocessable = "`validation_failed`: well-formed but invalid (a body that is not a JSON \
        object, a field out of its rules, a `cursor` this list did not return); `errors` names \
        each field with a stable code (`required`, `too_long`, `invalid`, `invalid_character`…).";
    /// 429, with `Retry-After`.
    TooManyRequests = "`rate_limited`: too many attempts; retry after `Retry-After` seconds.",
        |b| b.header("Retry-After", HeaderBuilder::new()
            .schema(Some(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)).build()))
            .description(Some("Seconds to wait before retrying."))
            .build());
    /// 500.
    InternalError = "`internal_error`: the server failed; the body carries only the code and \
        the request id.";
    /// 503.
    ServiceUnavailable = "`service_unavailable`: a dependency (database, cache, authorization \
        backend) is down; retry after `Retry-After` seconds.",
        |b| b.header("Retry-After", HeaderBuilder::new()
            .schema(Some(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)).build()))
            .description(Some("Seconds to wait before retrying."))
            .build());
}

/// The tenant of a call made without a token.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // only its parameters are used: the middleware reads the header
pub(crate) struct TenantHeader {
    /// The tenant to act in; without it, the default tenant
    /// `00000000-0000-0000-0000-000000000000`. Ignored when a valid bearer
    /// token names the tenant.
    // A UUID or absent (`null` is not a tenant: the header is 400 then).
    #[param(rename = "x-tenant-id", value_type = uuid::Uuid, required = false)]
    tenant: Option<String>,
}

/// Cursor pagination of a list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // only its parameters are used: `QueryParams::page` reads them
pub(crate) struct PageQuery {
    /// Items per page.
    #[param(minimum = 1, maximum = 200, default = 50)]
    limit: Option<u32>,
    /// The `next_cursor` of the previous page (unpadded base64url); one this
    /// list did not return is 422.
    #[param(min_length = 1, pattern = r"^[A-Za-z0-9_-]+$")]
    cursor: Option<String>,
}

/// A body or download of raw bytes. Any bytes are a valid file, so the
/// schema names no type a generated body could violate; the media type
/// says what the bytes are.
pub(crate) struct Binary;

impl PartialSchema for Binary {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::AnyValue)
            .content_media_type("application/octet-stream")
            .description(Some("The file's bytes, as they are."))
            .build()
            .into()
    }
}

impl ToSchema for Binary {}

/// The name of an uploaded file sent as a raw body.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // only its parameters are used: the handler reads `filename` from the query
pub(crate) struct UploadQuery {
    /// The file's name for a raw body (a multipart part carries its own);
    /// absent: `file`. Any directory part (`C:\fakepath\`) is dropped and the
    /// rest trimmed; what is left must be at most 255 bytes of UTF-8 and not
    /// `.` or `..` (422 on `filename`). Empty, or with a control character: 400.
    #[param(
        min_length = 1,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]+$",
        example = "report.pdf"
    )]
    filename: Option<String>,
}
