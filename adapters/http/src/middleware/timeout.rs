//! The request timeout: 504 when a request takes longer than
//! `server.request_timeout`.
//!
//! Unlike tower-http's `TimeoutLayer`, the timer is armed only when the
//! request first has to wait: a request answered in its first poll (an
//! authorized read served from memory) never touches the timer wheel, which
//! was about 2 % of such a request's CPU. The clock therefore starts at the
//! first wait rather than at arrival; work done before it is synchronous and
//! could not have been interrupted by a timer anyway.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use pin_project_lite::pin_project;
use tokio::time::Sleep;
use tower::{Layer, Service};

/// Applies [`Timeout`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct TimeoutLayer(pub(crate) Duration);

impl<S> Layer<S> for TimeoutLayer {
    type Service = Timeout<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Timeout { inner, after: self.0 }
    }
}

/// See the module docs.
#[derive(Clone, Debug)]
pub(crate) struct Timeout<S> {
    inner: S,
    after: Duration,
}

impl<S> Service<Request> for Timeout<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = TimeoutFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        TimeoutFuture {
            inner: self.inner.call(req),
            after: self.after,
            sleep: None,
        }
    }
}

pin_project! {
    /// The request's future, raced against a timer armed at its first wait.
    pub(crate) struct TimeoutFuture<F> {
        #[pin]
        inner: F,
        after: Duration,
        sleep: Option<Pin<Box<Sleep>>>,
    }
}

impl<F> Future for TimeoutFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(response) = this.inner.poll(cx) {
            return Poll::Ready(response);
        }
        let after = *this.after;
        let sleep = this.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(after)));
        match sleep.as_mut().poll(cx) {
            // An empty 504: the outer middleware turns it into problem+json.
            Poll::Ready(()) => Poll::Ready(Ok(StatusCode::GATEWAY_TIMEOUT.into_response())),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use tower::ServiceExt as _;

    use super::*;

    fn service(
        delay: Duration,
    ) -> impl Service<Request, Response = Response, Error = Infallible, Future: Send> + Clone {
        tower::service_fn(move |_req: Request| async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Ok::<_, Infallible>(StatusCode::OK.into_response())
        })
    }

    #[tokio::test]
    async fn an_immediate_answer_passes_and_a_slow_one_is_504() {
        let layer = TimeoutLayer(Duration::from_millis(300));
        let fast = layer
            .layer(service(Duration::ZERO))
            .oneshot(Request::new(axum::body::Body::empty()));
        assert_eq!(fast.await.unwrap().status(), StatusCode::OK);
        let waits = layer
            .layer(service(Duration::from_millis(20)))
            .oneshot(Request::new(axum::body::Body::empty()));
        assert_eq!(waits.await.unwrap().status(), StatusCode::OK);
        let slow = layer
            .layer(service(Duration::from_secs(30)))
            .oneshot(Request::new(axum::body::Body::empty()));
        let started = std::time::Instant::now();
        assert_eq!(slow.await.unwrap().status(), StatusCode::GATEWAY_TIMEOUT);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the slow handler was not cut short"
        );
    }
}
