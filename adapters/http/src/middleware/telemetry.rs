//! HTTP server metrics, following OpenTelemetry's HTTP semantic conventions.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use http::{Method, StatusCode};
use platform_ports::metrics::{Counter, Histogram, Label, Metrics};

/// Bucket boundaries (seconds) advised by the semantic conventions.
const DURATION_BOUNDARIES: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
/// Route templates come from code, so they are few; the cap only guards
/// against a router built from unbounded input.
const MAX_ROUTES: usize = 1024;

/// The instruments every request records into, created once.
pub(crate) struct HttpMetrics {
    duration: Arc<dyn Histogram>,
    errors: Arc<dyn Counter>,
    /// foldhash: the template is hashed on every request.
    routes: RwLock<HashSet<Arc<str>, foldhash::fast::RandomState>>,
}

impl HttpMetrics {
    /// Creates the instruments.
    pub(crate) fn new(metrics: &dyn Metrics) -> Self {
        Self {
            duration: metrics.histogram(
                "http.server.request.duration",
                "Duration of HTTP server requests.",
                "s",
                Some(DURATION_BOUNDARIES.to_vec()),
            ),
            errors: metrics.counter(
                "http.server.request.errors",
                "HTTP server requests answered with a 5xx.",
                "{error}",
            ),
            routes: RwLock::new(HashSet::default()),
        }
    }

    /// The shared copy of a route template: allocates only the first time.
    pub(crate) fn route(&self, template: &str) -> Arc<str> {
        // A poisoned lock only means another request panicked mid-insert; the
        // set itself is still a valid set of strings.
        if let Some(hit) = self
            .routes
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(template)
        {
            return Arc::clone(hit);
        }
        let mut routes = self.routes.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(hit) = routes.get(template) {
            return Arc::clone(hit);
        }
        let route: Arc<str> = Arc::from(template);
        if routes.len() < MAX_ROUTES {
            routes.insert(Arc::clone(&route));
        }
        route
    }

    /// Records one finished request (and counts it as an error when 5xx).
    pub(crate) fn record(&self, method: &'static str, route: Option<Arc<str>>, status: StatusCode, elapsed: Duration) {
        let method = Label::new("http.request.method", method);
        let status_label = Label::new("http.response.status_code", i64::from(status.as_u16()));
        let emit = |labels: &[Label]| {
            self.duration.record(elapsed.as_secs_f64(), labels);
            if status.is_server_error() {
                self.errors.add(1, labels);
            }
        };
        // No `http.route` label for unmatched requests, as the conventions say,
        // so scanners probing random paths cannot blow up the series count.
        match route {
            Some(route) => emit(&[method, status_label, Label::new("http.route", route)]),
            None => emit(&[method, status_label]),
        }
    }
}

/// The method as a bounded label value: known methods, else `_OTHER`.
pub(crate) fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "_OTHER",
    }
}

#[cfg(test)]
mod tests {
    use platform_ports::metrics::{Gauge, MetricsError, UpDownCounter};

    use super::*;

    struct NoMetrics;
    struct Nothing;
    impl Counter for Nothing {
        fn add(&self, _: u64, _: &[Label]) {}
    }
    impl Histogram for Nothing {
        fn record(&self, _: f64, _: &[Label]) {}
    }
    impl Metrics for NoMetrics {
        fn counter(&self, _: &'static str, _: &'static str, _: &'static str) -> Arc<dyn Counter> {
            Arc::new(Nothing)
        }
        fn up_down_counter(&self, _: &'static str, _: &'static str, _: &'static str) -> Arc<dyn UpDownCounter> {
            unreachable!("not used by the HTTP adapter")
        }
        fn histogram(
            &self,
            _: &'static str,
            _: &'static str,
            _: &'static str,
            _: Option<Vec<f64>>,
        ) -> Arc<dyn Histogram> {
            Arc::new(Nothing)
        }
        fn gauge(&self, _: &'static str, _: &'static str, _: &'static str) -> Arc<dyn Gauge> {
            unreachable!("not used by the HTTP adapter")
        }
        fn render(&self) -> Result<String, MetricsError> {
            Ok(String::new())
        }
    }

    #[test]
    fn routes_are_interned() {
        let metrics = HttpMetrics::new(&NoMetrics);
        let a = metrics.route("/things/{id}");
        let b = metrics.route("/things/{id}");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(&*metrics.route("/other"), "/other");
    }

    #[test]
    fn unknown_methods_are_other() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        assert_eq!(method_label(&Method::from_bytes(b"PURGE").unwrap()), "_OTHER");
    }
}
