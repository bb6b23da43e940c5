//! Health checks (the seed's `HealthChecker` and `HealthRegistry`).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shaku::Interface;

use crate::BoxError;

/// A passing check's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HealthStatus {
    /// Fully working.
    Up,
    /// Serving through a fallback (e.g. memory cache while Redis is down).
    Degraded(String),
}

/// Checks one dependency.
#[async_trait]
pub trait HealthChecker: Send + Sync {
    /// Probes the dependency.
    ///
    /// # Errors
    /// Any error means the dependency is down and the instance is not ready.
    async fn check(&self) -> Result<HealthStatus, BoxError>;
}

/// The outcome of one check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    /// Passed.
    Up,
    /// Passed through a fallback.
    Degraded,
    /// Failed or timed out.
    Down,
}

/// One check's result in a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The state.
    pub status: CheckState,
    /// Why it is degraded or down.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// How long the check took, in milliseconds.
    pub duration_ms: u64,
}

/// Every check's result.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthReport {
    /// By checker name.
    pub checks: BTreeMap<String, CheckResult>,
}

impl HealthReport {
    /// Ready when no check is down (degraded still serves).
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.checks.values().all(|c| c.status != CheckState::Down)
    }
}

/// Composable health checks.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait HealthRegistry: Interface {
    /// Adds (or replaces) a named checker.
    fn register(&self, name: &str, checker: Arc<dyn HealthChecker>);

    /// Runs every checker concurrently, each bounded by the configured timeout.
    async fn check(&self) -> HealthReport;
}
