//! `{mount}/posts*` (`/api/v1/blog/posts*`): posts and their publishing workflow.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::LOCATION;
use platform_ports::blog::{PostFilter, PostStatus};
use platform_ports::model::{PostId, UserId};

use crate::blog::dto::{PostBody, PostStatusView, PostView};
use crate::blog::{BlogDeps, errors};
use crate::extract::{AppJson, Ctx};
use crate::list::ListView;
use crate::module::Mount;
use crate::openapi::components::{
    BadRequest, Conflict, Forbidden, NotFound, PageQuery, ServiceUnavailable, Unauthorized, Unprocessable,
};
use crate::params::{PathParams, QueryParams, invalid_parameter};
use crate::problem::Problem;

/// Creates a draft post.
///
/// The caller becomes the author.
#[utoipa::path(
    post,
    path = "/posts",
    tag = "blog",
    request_body = PostBody,
    responses(
        (status = 201, description = "Created, as a draft.", body = PostView,
            headers(("Location" = String, description = "`/api/v1/blog/posts/{id}`"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn create(
    State(deps): State<BlogDeps>,
    State(mount): State<Mount>,
    Ctx(ctx): Ctx,
    AppJson(body): AppJson<PostBody>,
) -> Result<Response, Problem> {
    let post = deps.blog.create(&ctx, body.into()).await.map_err(errors::blog)?;
    let location = mount.path(format_args!("/posts/{}", post.id));
    Ok((
        StatusCode::CREATED,
        [(LOCATION, location)],
        AppJson(PostView::from(post)),
    )
        .into_response())
}

/// Lists the posts the caller may see, newest first.
///
/// Drafts are listed only to their author, and to holders of `blog.post.manage`.
#[utoipa::path(
    get,
    path = "/posts",
    tag = "blog",
    params(
        ("status" = Option<PostStatusView>, Query, description = "Only posts in this status."),
        ("author" = Option<uuid::Uuid>, Query, description = "Only posts by this author."),
        ("tag" = Option<String>, Query, min_length = 1, pattern = r"^[^\u0000-\u001F\u007F-\u009F]+$", description = "Only posts with this tag."),
        PageQuery,
    ),
    responses(
        (status = 200, description = "One page of posts.", body = ListView<PostView>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn list(
    State(deps): State<BlogDeps>,
    Ctx(ctx): Ctx,
    query: QueryParams,
) -> Result<AppJson<ListView<PostView>>, Problem> {
    let status = query
        .text("status")?
        .map(|raw| {
            raw.parse::<PostStatus>()
                .map_err(|err| invalid_parameter("status", err.message))
        })
        .transpose()?;
    let filter = PostFilter {
        status,
        author_id: query.parse::<UserId>("author")?,
        tag: query.text("tag")?.map(str::to_owned),
        // Who sees which drafts is the service's decision (it holds the
        // `blog.post.manage` check); the adapter only names the viewer.
        include_all_drafts: false,
        viewer_id: ctx.user_id(),
    };
    let page = query.page()?;
    let posts = deps.blog.list(&ctx, filter, page).await.map_err(errors::blog)?;
    Ok(AppJson(ListView::page(posts)))
}

/// One post, with its cover image and attachments.
///
/// Another author's draft is 404 unless the caller holds `blog.post.manage`.
#[utoipa::path(
    get,
    path = "/posts/{id}",
    tag = "blog",
    params(("id" = uuid::Uuid, Path, description = "The post's id.")),
    responses(
        (status = 200, description = "The post.", body = PostView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn get(
    State(deps): State<BlogDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
) -> Result<AppJson<PostView>, Problem> {
    let id = path.parse::<PostId>("id")?;
    let post = deps.blog.get(&ctx, id).await.map_err(errors::blog)?;
    let files = deps.blog.attachments(&ctx, id).await.map_err(errors::blog)?;
    Ok(AppJson(PostView::from(post).with_files(files)))
}

/// Replaces a post's title, content and tags.
///
/// Another author's post also needs `blog.post.manage`.
#[utoipa::path(
    put,
    path = "/posts/{id}",
    tag = "blog",
    params(("id" = uuid::Uuid, Path, description = "The post's id.")),
    request_body = PostBody,
    responses(
        (status = 200, description = "The updated post.", body = PostView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn update(
    State(deps): State<BlogDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
    AppJson(body): AppJson<PostBody>,
) -> Result<AppJson<PostView>, Problem> {
    let id = path.parse::<PostId>("id")?;
    let post = deps.blog.update(&ctx, id, body.into()).await.map_err(errors::blog)?;
    Ok(AppJson(post.into()))
}

/// Deletes a post.
///
/// Another author's post also needs `blog.post.manage`.
#[utoipa::path(
    delete,
    path = "/posts/{id}",
    tag = "blog",
    params(("id" = uuid::Uuid, Path, description = "The post's id.")),
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
    State(deps): State<BlogDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
) -> Result<StatusCode, Problem> {
    let id = path.parse::<PostId>("id")?;
    deps.blog.delete(&ctx, id).await.map_err(errors::blog)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Publishes a draft.
///
/// Moves the post from `draft` to `published`; from any other status it is 409 `invalid_transition`.
/// Another author's post also needs `blog.post.manage`.
#[utoipa::path(
    post,
    path = "/posts/{id}/publish",
    tag = "blog",
    params(("id" = uuid::Uuid, Path, description = "The post's id.")),
    responses(
        (status = 200, description = "The published post.", body = PostView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn publish(
    State(deps): State<BlogDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
) -> Result<AppJson<PostView>, Problem> {
    transition(&deps, &ctx, &path, PostStatus::Published).await
}

/// Archives a published post.
///
/// Moves the post from `published` to `archived`; from any other status it is 409 `invalid_transition`.
/// Another author's post also needs `blog.post.manage`.
#[utoipa::path(
    post,
    path = "/posts/{id}/archive",
    tag = "blog",
    params(("id" = uuid::Uuid, Path, description = "The post's id.")),
    responses(
        (status = 200, description = "The archived post.", body = PostView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn archive(
    State(deps): State<BlogDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
) -> Result<AppJson<PostView>, Problem> {
    transition(&deps, &ctx, &path, PostStatus::Archived).await
}

/// Restores an archived post to draft.
///
/// Moves the post from `archived` to `draft`; from any other status it is 409 `invalid_transition`.
/// Another author's post also needs `blog.post.manage`.
#[utoipa::path(
    post,
    path = "/posts/{id}/restore",
    tag = "blog",
    params(("id" = uuid::Uuid, Path, description = "The post's id.")),
    responses(
        (status = 200, description = "The draft post.", body = PostView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn restore(
    State(deps): State<BlogDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
) -> Result<AppJson<PostView>, Problem> {
    transition(&deps, &ctx, &path, PostStatus::Draft).await
}

/// Moves the path's post to `status`.
async fn transition(
    deps: &BlogDeps,
    ctx: &platform_ports::model::RequestContext,
    path: &PathParams,
    status: PostStatus,
) -> Result<AppJson<PostView>, Problem> {
    let id = path.parse::<PostId>("id")?;
    let post = deps.blog.transition(ctx, id, status).await.map_err(errors::blog)?;
    Ok(AppJson(post.into()))
}
