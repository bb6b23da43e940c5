//! [`MemoryUsageChecker`]: down when this process or the host runs short of memory.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use platform_ports::BoxError;
use platform_ports::health::{HealthChecker, HealthStatus};
use sysinfo::{MemoryRefreshKind, Pid, Process, ProcessRefreshKind, ProcessesToUpdate, System};

use super::{bytes, on_blocking_pool, percent, ratio};

/// How close to a limit (as a share of it) a reading turns the check degraded.
const WARNING_MARGIN: f64 = 0.1;

/// Down when this process's resident memory exceeds a maximum, or when the
/// memory available to it falls below a share of the total; degraded within
/// 10% of either limit.
///
/// Inside a memory-limited cgroup (a container) the cgroup's limit is the
/// total, and only its anonymous memory counts as used: page cache is
/// reclaimed before the OOM killer acts, so counting it would fail healthy
/// instances doing file I/O.
pub struct MemoryUsageChecker {
    max_rss_bytes: Option<u64>,
    min_available_ratio: f64,
    probe: Arc<Mutex<Option<MemoryProbe>>>,
}

impl MemoryUsageChecker {
    /// `max_rss_bytes`: `None` skips the process check; `min_available_ratio`
    /// (0 to 1): 0 skips the host check.
    pub fn new(max_rss_bytes: Option<u64>, min_available_ratio: f64) -> Self {
        let min_available_ratio = if min_available_ratio.is_finite() {
            min_available_ratio.clamp(0.0, 1.0)
        } else {
            0.0
        };
        Self {
            max_rss_bytes,
            min_available_ratio,
            probe: Arc::new(Mutex::new(None)),
        }
    }

    /// Judges one reading against the limits.
    fn judge(&self, sample: &MemorySample) -> Result<HealthStatus, BoxError> {
        let mut failures = Vec::new();
        let mut warnings = Vec::new();
        if let (Some(max), Some(rss)) = (self.max_rss_bytes, sample.rss) {
            let reading = format!("resident memory {}", bytes(rss));
            if rss > max {
                failures.push(format!("{reading} exceeds the maximum of {}", bytes(max)));
            } else if ratio(rss, max) > 1.0 - WARNING_MARGIN {
                warnings.push(format!("{reading} is within 10% of the maximum of {}", bytes(max)));
            }
        }
        if let Some((available, total)) = sample.host {
            let share = ratio(available, total);
            let reading = format!(
                "{} of {} memory available ({})",
                bytes(available),
                bytes(total),
                percent(share)
            );
            if share < self.min_available_ratio {
                failures.push(format!(
                    "{reading}, below the minimum of {}",
                    percent(self.min_available_ratio)
                ));
            } else if share < self.min_available_ratio * (1.0 + WARNING_MARGIN) {
                warnings.push(format!(
                    "{reading}, within 10% of the minimum of {}",
                    percent(self.min_available_ratio)
                ));
            }
        }
        if !failures.is_empty() {
            return Err(failures.join("; ").into());
        }
        Ok(if warnings.is_empty() {
            HealthStatus::Up
        } else {
            HealthStatus::Degraded(warnings.join("; "))
        })
    }
}

#[async_trait]
impl HealthChecker for MemoryUsageChecker {
    async fn check(&self) -> Result<HealthStatus, BoxError> {
        let with_rss = self.max_rss_bytes.is_some();
        let with_host = self.min_available_ratio > 0.0;
        if !with_rss && !with_host {
            return Ok(HealthStatus::Up);
        }
        let sample = on_blocking_pool(&self.probe, move |probe| {
            let probe = match probe {
                Some(p) => p,
                None => probe.insert(MemoryProbe {
                    system: System::new()?,
                    pid: sysinfo::get_current_pid()?,
                }),
            };
            probe.sample(with_rss, with_host)
        })
        .await?;
        self.judge(&sample)
    }
}

/// One reading; a part is `None` when no limit needs it.
#[derive(Debug)]
struct MemorySample {
    /// This process's resident set, in bytes.
    rss: Option<u64>,
    /// Available and total memory, in bytes.
    host: Option<(u64, u64)>,
}

/// The `sysinfo` state, kept between checks so each refreshes only what it reads.
struct MemoryProbe {
    system: System,
    pid: Pid,
}

impl MemoryProbe {
    fn sample(&mut self, with_rss: bool, with_host: bool) -> Result<MemorySample, BoxError> {
        let rss = if with_rss {
            self.system.refresh_processes_specifics(
                ProcessesToUpdate::Some(&[self.pid]),
                false,
                ProcessRefreshKind::nothing().without_tasks().with_memory(),
            );
            let rss = self.system.process(self.pid).map(Process::memory);
            Some(rss.ok_or("this process's memory could not be read")?)
        } else {
            None
        };
        let host = with_host.then(|| self.host_memory());
        if host.is_some_and(|(_, total)| total == 0) {
            return Err("the host's total memory could not be read".into());
        }
        Ok(MemorySample { rss, host })
    }

    /// Available and total memory, bounded by the cgroup's limit when there is one.
    fn host_memory(&mut self) -> (u64, u64) {
        self.system
            .refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
        let (available, total) = (self.system.available_memory(), self.system.total_memory());
        match self.system.cgroup_limits() {
            Some(cgroup) if cgroup.total_memory > 0 && cgroup.total_memory <= total => {
                let unused = cgroup.total_memory.saturating_sub(cgroup.rss);
                (available.min(unused), cgroup.total_memory)
            }
            _ => (available, total),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1024 * 1024 * 1024;

    fn sample(rss: Option<u64>, host: Option<(u64, u64)>) -> MemorySample {
        MemorySample { rss, host }
    }

    #[tokio::test]
    async fn passes_with_generous_limits() {
        let checker = MemoryUsageChecker::new(Some(u64::MAX), 0.000_001);
        assert_eq!(checker.check().await.unwrap(), HealthStatus::Up);
        assert_eq!(checker.check().await.unwrap(), HealthStatus::Up);
    }

    #[tokio::test]
    async fn fails_when_this_process_exceeds_the_maximum() {
        let checker = MemoryUsageChecker::new(Some(1), 0.0);
        let err = checker.check().await.unwrap_err().to_string();
        assert!(err.starts_with("resident memory "), "{err}");
        assert!(err.ends_with("exceeds the maximum of 1 B"), "{err}");
    }

    #[tokio::test]
    async fn fails_when_all_memory_must_be_available() {
        // Some memory is always in use, if only by this test.
        let checker = MemoryUsageChecker::new(None, 1.0);
        let err = checker.check().await.unwrap_err().to_string();
        assert!(err.ends_with("below the minimum of 100.0%"), "{err}");
    }

    #[test]
    fn judge_degrades_within_ten_percent_of_a_limit() {
        let checker = MemoryUsageChecker::new(Some(10 * GIB), 0.2);
        assert_eq!(
            checker
                .judge(&sample(Some(8 * GIB), Some((50 * GIB, 100 * GIB))))
                .unwrap(),
            HealthStatus::Up
        );

        let HealthStatus::Degraded(msg) = checker
            .judge(&sample(Some(19 * GIB / 2), Some((50 * GIB, 100 * GIB))))
            .unwrap()
        else {
            panic!("9.5 GiB of a 10 GiB maximum must degrade");
        };
        assert_eq!(msg, "resident memory 9.5 GiB is within 10% of the maximum of 10.0 GiB");

        let HealthStatus::Degraded(msg) = checker.judge(&sample(Some(GIB), Some((21 * GIB, 100 * GIB)))).unwrap()
        else {
            panic!("21% available against a 20% minimum must degrade");
        };
        assert_eq!(
            msg,
            "21.0 GiB of 100.0 GiB memory available (21.0%), within 10% of the minimum of 20.0%"
        );
    }

    #[test]
    fn judge_reports_every_exceeded_limit() {
        let checker = MemoryUsageChecker::new(Some(GIB), 0.2);
        let err = checker
            .judge(&sample(Some(2 * GIB), Some((10 * GIB, 100 * GIB))))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "resident memory 2.0 GiB exceeds the maximum of 1.0 GiB; \
             10.0 GiB of 100.0 GiB memory available (10.0%), below the minimum of 20.0%"
        );
    }

    #[tokio::test]
    async fn no_limit_means_up_without_reading_anything() {
        let checker = MemoryUsageChecker::new(None, 0.0);
        assert_eq!(checker.check().await.unwrap(), HealthStatus::Up);
        assert!(checker.probe.lock().unwrap().is_none());
    }
}
