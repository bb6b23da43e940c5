//! Ordered start hooks and reverse-ordered stop hooks.

use std::sync::Arc;
use std::time::Duration;

use platform_ports::lifecycle::BackgroundService;

/// The platform's background services, in start order.
#[derive(Default, Clone)]
pub struct Lifecycle {
    services: Vec<Arc<dyn BackgroundService>>,
}

impl Lifecycle {
    /// An empty lifecycle.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a service: started after, and stopped before, those added earlier.
    pub fn add(&mut self, service: Arc<dyn BackgroundService>) {
        self.services.push(service);
    }

    /// The names, in start order.
    #[must_use]
    pub fn names(&self) -> Vec<&'static str> {
        self.services.iter().map(|s| s.name()).collect()
    }

    /// Starts every service in order. When one fails, those already started
    /// are stopped (in reverse) and the error is returned.
    ///
    /// # Errors
    /// The failing service's name and error.
    pub async fn start(&self, stop_timeout: Duration) -> anyhow::Result<()> {
        for (i, service) in self.services.iter().enumerate() {
            if let Err(err) = service.start().await {
                tracing::error!(service = service.name(), error = %err, "start failed; stopping what was started");
                Self::stop_all(&self.services[..i], stop_timeout).await;
                return Err(anyhow::anyhow!("starting {}: {err}", service.name()));
            }
            tracing::debug!(service = service.name(), "started");
        }
        Ok(())
    }

    /// Stops every service in reverse order, each bounded by `timeout`.
    pub async fn stop(&self, timeout: Duration) {
        Self::stop_all(&self.services, timeout).await;
    }

    async fn stop_all(services: &[Arc<dyn BackgroundService>], timeout: Duration) {
        for service in services.iter().rev() {
            match tokio::time::timeout(timeout, service.stop()).await {
                Ok(Ok(())) => tracing::debug!(service = service.name(), "stopped"),
                Ok(Err(err)) => {
                    tracing::error!(service = service.name(), error = %err, "stop failed")
                }
                Err(_) => tracing::error!(
                    service = service.name(),
                    timeout_ms = timeout.as_millis() as u64,
                    "stop timed out"
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use platform_ports::BoxError;

    use super::*;

    struct Recorder {
        name: &'static str,
        log: Arc<Mutex<Vec<String>>>,
        fail_start: bool,
    }

    #[async_trait]
    impl BackgroundService for Recorder {
        fn name(&self) -> &'static str {
            self.name
        }
        async fn start(&self) -> Result<(), BoxError> {
            self.log.lock().unwrap().push(format!("start {}", self.name));
            if self.fail_start { Err("boom".into()) } else { Ok(()) }
        }
        async fn stop(&self) -> Result<(), BoxError> {
            self.log.lock().unwrap().push(format!("stop {}", self.name));
            Ok(())
        }
    }

    fn lifecycle(log: &Arc<Mutex<Vec<String>>>, fail: Option<&'static str>) -> Lifecycle {
        let mut l = Lifecycle::new();
        for name in ["a", "b", "c"] {
            l.add(Arc::new(Recorder {
                name,
                log: log.clone(),
                fail_start: fail == Some(name),
            }));
        }
        l
    }

    #[tokio::test]
    async fn starts_in_order_and_stops_in_reverse() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = lifecycle(&log, None);
        l.start(Duration::from_secs(1)).await.unwrap();
        l.stop(Duration::from_secs(1)).await;
        assert_eq!(
            *log.lock().unwrap(),
            ["start a", "start b", "start c", "stop c", "stop b", "stop a"]
        );
    }

    #[tokio::test]
    async fn failed_start_stops_what_started() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = lifecycle(&log, Some("c"));
        assert!(l.start(Duration::from_secs(1)).await.is_err());
        assert_eq!(
            *log.lock().unwrap(),
            ["start a", "start b", "start c", "stop b", "stop a"]
        );
    }
}
