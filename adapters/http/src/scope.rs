//! The request being served, visible to code that turns errors into responses.
//!
//! A handler returns `Problem::not_found(..)` without knowing the request id or
//! path; the middleware runs the request inside this task-local scope so that
//! `Problem::into_response` can fill both in and serialize the body only once.

use std::sync::Arc;

use http::Uri;

/// What a problem body needs to know about the current request.
#[derive(Clone, Debug)]
pub(crate) struct RequestScope {
    /// The request id echoed in `x-request-id`.
    pub(crate) request_id: Arc<str>,
    /// The full request URI (before any nested router strips a prefix).
    pub(crate) uri: Uri,
}

tokio::task_local! {
    static CURRENT: RequestScope;
}

/// Runs `future` with `scope` as the current request.
pub(crate) async fn run<F: Future>(scope: RequestScope, future: F) -> F::Output {
    CURRENT.scope(scope, future).await
}

/// The current request's id and path, when called inside [`run`].
pub(crate) fn current() -> Option<(Arc<str>, String)> {
    CURRENT
        .try_with(|s| (Arc::clone(&s.request_id), s.uri.path().to_owned()))
        .ok()
}
