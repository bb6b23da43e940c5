//! [`CompositeHealthRegistry`]: named checkers run concurrently, each under a timeout.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use futures::FutureExt as _;
use futures::future::join_all;
use platform_ports::health::{CheckResult, CheckState, HealthChecker, HealthRegistry, HealthReport, HealthStatus};
use tokio::time::Instant;

/// How long one checker may run when no timeout is configured.
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs every registered checker concurrently; a checker that fails, panics
/// or outlives the timeout is reported down with the reason.
#[derive(shaku::Component)]
#[shaku(interface = HealthRegistry)]
pub struct CompositeHealthRegistry {
    /// How long one checker may run before it counts as down.
    #[shaku(default = DEFAULT_CHECK_TIMEOUT)]
    timeout: Duration,
    #[shaku(force_default)]
    checkers: RwLock<BTreeMap<String, Arc<dyn HealthChecker>>>,
}

impl CompositeHealthRegistry {
    /// An empty registry bounding each check by `timeout`.
    #[must_use]
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            checkers: RwLock::default(),
        }
    }

    /// The names of the registered checkers, sorted.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        self.checkers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect()
    }
}

impl Default for CompositeHealthRegistry {
    fn default() -> Self {
        Self::new(DEFAULT_CHECK_TIMEOUT)
    }
}

#[async_trait]
impl HealthRegistry for CompositeHealthRegistry {
    fn register(&self, name: &str, checker: Arc<dyn HealthChecker>) {
        // The map stays consistent even if a writer panicked: inserts are atomic.
        self.checkers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_owned(), checker);
    }

    async fn check(&self) -> HealthReport {
        // Snapshot, so no lock is held while checks run and `register` never waits on a probe.
        let checkers: Vec<(String, Arc<dyn HealthChecker>)> = self
            .checkers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(name, checker)| (name.clone(), Arc::clone(checker)))
            .collect();
        let timeout = self.timeout;
        let results = join_all(checkers.into_iter().map(|(name, checker)| async move {
            let result = run_check(checker.as_ref(), timeout).await;
            (name, result)
        }))
        .await;
        HealthReport {
            checks: results.into_iter().collect(),
        }
    }
}

/// Runs one checker under `timeout` and turns its outcome into a result.
async fn run_check(checker: &dyn HealthChecker, timeout: Duration) -> CheckResult {
    let started = Instant::now();
    // A panicking checker must not take the readiness endpoint down with it.
    let outcome = tokio::time::timeout(timeout, AssertUnwindSafe(checker.check()).catch_unwind()).await;
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let (status, message) = match outcome {
        Ok(Ok(Ok(HealthStatus::Up))) => (CheckState::Up, None),
        Ok(Ok(Ok(HealthStatus::Degraded(reason)))) => (CheckState::Degraded, Some(reason)),
        Ok(Ok(Err(err))) => (CheckState::Down, Some(err.to_string())),
        Ok(Err(_panic)) => (CheckState::Down, Some("the check panicked".to_owned())),
        Err(_elapsed) => (CheckState::Down, Some(format!("timed out after {timeout:?}"))),
    };
    CheckResult {
        status,
        message,
        duration_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform_ports::BoxError;

    /// Answers `result` after `delay`.
    struct Scripted {
        delay: Duration,
        result: Result<HealthStatus, &'static str>,
    }

    #[async_trait]
    impl HealthChecker for Scripted {
        async fn check(&self) -> Result<HealthStatus, BoxError> {
            tokio::time::sleep(self.delay).await;
            self.result.clone().map_err(Into::into)
        }
    }

    fn checker(delay_ms: u64, result: Result<HealthStatus, &'static str>) -> Arc<dyn HealthChecker> {
        Arc::new(Scripted {
            delay: Duration::from_millis(delay_ms),
            result,
        })
    }

    struct Panics;

    #[async_trait]
    impl HealthChecker for Panics {
        async fn check(&self) -> Result<HealthStatus, BoxError> {
            panic!("probe bug")
        }
    }

    #[tokio::test(start_paused = true)]
    async fn all_passing_is_ready() {
        let registry = CompositeHealthRegistry::default();
        registry.register("database", checker(30, Ok(HealthStatus::Up)));
        registry.register("cache", checker(10, Ok(HealthStatus::Up)));
        let report = registry.check().await;
        assert!(report.is_ready());
        assert_eq!(report.checks.len(), 2);
        let database = &report.checks["database"];
        assert_eq!(database.status, CheckState::Up);
        assert_eq!(database.message, None);
        assert_eq!(database.duration_ms, 30);
    }

    #[tokio::test(start_paused = true)]
    async fn one_failing_check_makes_it_not_ready() {
        let registry = CompositeHealthRegistry::default();
        registry.register("database", checker(0, Ok(HealthStatus::Up)));
        registry.register("disk", checker(0, Err("12 MiB free, below the minimum of 1 GiB")));
        let report = registry.check().await;
        assert!(!report.is_ready());
        assert_eq!(report.checks["database"].status, CheckState::Up);
        let disk = &report.checks["disk"];
        assert_eq!(disk.status, CheckState::Down);
        assert_eq!(disk.message.as_deref(), Some("12 MiB free, below the minimum of 1 GiB"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_check_times_out_as_down() {
        let registry = CompositeHealthRegistry::default();
        registry.register("kafka", checker(60_000, Ok(HealthStatus::Up)));
        let report = registry.check().await;
        let kafka = &report.checks["kafka"];
        assert_eq!(kafka.status, CheckState::Down);
        assert_eq!(kafka.message.as_deref(), Some("timed out after 2s"));
        assert_eq!(kafka.duration_ms, 2000);
        assert!(!report.is_ready());
    }

    #[tokio::test(start_paused = true)]
    async fn degraded_stays_ready() {
        let registry = CompositeHealthRegistry::new(Duration::from_millis(500));
        registry.register(
            "cache",
            checker(0, Ok(HealthStatus::Degraded("serving from memory".into()))),
        );
        let report = registry.check().await;
        assert!(report.is_ready());
        assert_eq!(report.checks["cache"].status, CheckState::Degraded);
        assert_eq!(report.checks["cache"].message.as_deref(), Some("serving from memory"));
    }

    #[tokio::test(start_paused = true)]
    async fn checks_run_concurrently() {
        let registry = CompositeHealthRegistry::default();
        for name in ["a", "b", "c", "d"] {
            registry.register(name, checker(1000, Ok(HealthStatus::Up)));
        }
        let started = Instant::now();
        let report = registry.check().await;
        assert_eq!(started.elapsed(), Duration::from_secs(1));
        assert!(report.checks.values().all(|c| c.status == CheckState::Up));
    }

    #[tokio::test(start_paused = true)]
    async fn the_configured_timeout_applies() {
        let registry = CompositeHealthRegistry::new(Duration::from_millis(250));
        registry.register("slow", checker(300, Ok(HealthStatus::Up)));
        registry.register("fast", checker(200, Ok(HealthStatus::Up)));
        let report = registry.check().await;
        assert_eq!(report.checks["slow"].message.as_deref(), Some("timed out after 250ms"));
        assert_eq!(report.checks["fast"].status, CheckState::Up);
    }

    #[tokio::test]
    async fn registering_a_name_again_replaces_the_checker() {
        let registry = CompositeHealthRegistry::default();
        registry.register("database", checker(0, Err("connection refused")));
        registry.register("database", checker(0, Ok(HealthStatus::Up)));
        assert_eq!(registry.names(), ["database"]);
        let report = registry.check().await;
        assert!(report.is_ready());
    }

    #[tokio::test]
    async fn a_panicking_check_is_down() {
        let registry = CompositeHealthRegistry::default();
        registry.register("buggy", Arc::new(Panics));
        registry.register("database", checker(0, Ok(HealthStatus::Up)));
        let report = registry.check().await;
        assert_eq!(report.checks["buggy"].status, CheckState::Down);
        assert_eq!(report.checks["buggy"].message.as_deref(), Some("the check panicked"));
        assert_eq!(report.checks["database"].status, CheckState::Up);
    }

    #[tokio::test]
    async fn an_empty_registry_is_ready() {
        let report = CompositeHealthRegistry::default().check().await;
        assert!(report.is_ready());
        assert!(report.checks.is_empty());
    }

    shaku::module! {
        HealthModule {
            components = [CompositeHealthRegistry],
            providers = []
        }
    }

    #[tokio::test(start_paused = true)]
    async fn resolves_through_shaku_with_its_timeout_parameter() {
        use shaku::HasComponent;
        let default_module = HealthModule::builder().build();
        let registry: Arc<dyn HealthRegistry> = default_module.resolve();
        registry.register("slow", checker(60_000, Ok(HealthStatus::Up)));
        assert_eq!(
            registry.check().await.checks["slow"].message.as_deref(),
            Some("timed out after 2s")
        );

        let module = HealthModule::builder()
            .with_component_parameters::<CompositeHealthRegistry>(CompositeHealthRegistryParameters {
                timeout: Duration::from_millis(100),
            })
            .build();
        let registry: Arc<dyn HealthRegistry> = module.resolve();
        registry.register("slow", checker(60_000, Ok(HealthStatus::Up)));
        assert_eq!(
            registry.check().await.checks["slow"].message.as_deref(),
            Some("timed out after 100ms")
        );
    }
}
