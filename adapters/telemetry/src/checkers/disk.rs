//! [`DiskSpaceChecker`]: down when the filesystem holding a path runs out of room.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use platform_ports::BoxError;
use platform_ports::health::{HealthChecker, HealthStatus};
use sysinfo::{DiskRefreshKind, Disks};

use super::{bytes, on_blocking_pool, percent, ratio};

/// Down when free space on the filesystem holding `path` falls below a threshold.
///
/// The filesystem is the disk whose mount point is the longest prefix of the
/// canonical path (of its nearest existing ancestor, so a data directory not
/// created yet is still checked). `sysinfo` does not list pseudo filesystems
/// such as `tmpfs`; a path on one is judged by the disk mounted above it.
pub struct DiskSpaceChecker {
    path: PathBuf,
    min_free_bytes: u64,
    min_free_ratio: f64,
    probe: Arc<Mutex<Option<DiskProbe>>>,
}

impl DiskSpaceChecker {
    /// Down when fewer than `min_free_bytes` are available to this process.
    pub fn new(path: impl Into<PathBuf>, min_free_bytes: u64) -> Self {
        Self {
            path: path.into(),
            min_free_bytes,
            min_free_ratio: 0.0,
            probe: Arc::new(Mutex::new(None)),
        }
    }

    /// Also down when the available share of the filesystem is below `ratio` (0 to 1).
    #[must_use]
    pub fn with_min_free_ratio(mut self, ratio: f64) -> Self {
        self.min_free_ratio = if ratio.is_finite() { ratio.clamp(0.0, 1.0) } else { 0.0 };
        self
    }

    /// Judges one measurement against the thresholds.
    fn judge(&self, space: &DiskSpace) -> Result<HealthStatus, BoxError> {
        let free_ratio = ratio(space.available, space.total);
        if space.available >= self.min_free_bytes && free_ratio >= self.min_free_ratio {
            return Ok(HealthStatus::Up);
        }
        let mut minimum = Vec::with_capacity(2);
        if self.min_free_bytes > 0 {
            minimum.push(bytes(self.min_free_bytes));
        }
        if self.min_free_ratio > 0.0 {
            minimum.push(percent(self.min_free_ratio));
        }
        Err(format!(
            "{} free of {} ({}) on {}, below the minimum of {}",
            bytes(space.available),
            bytes(space.total),
            percent(free_ratio),
            space.mount_point.display(),
            minimum.join(" and "),
        )
        .into())
    }
}

#[async_trait]
impl HealthChecker for DiskSpaceChecker {
    async fn check(&self) -> Result<HealthStatus, BoxError> {
        let path = self.path.clone();
        let space = on_blocking_pool(&self.probe, move |probe| {
            let probe = match probe {
                Some(p) => p,
                None => probe.insert(DiskProbe {
                    disks: Disks::new()?,
                    chosen: None,
                }),
            };
            probe.measure(&path)
        })
        .await?;
        self.judge(&space)
    }
}

/// One reading of a filesystem.
#[derive(Debug)]
struct DiskSpace {
    mount_point: PathBuf,
    available: u64,
    total: u64,
}

/// The disk list, kept between checks so a check refreshes one disk only.
struct DiskProbe {
    disks: Disks,
    /// Index of the disk holding the path, once found.
    chosen: Option<usize>,
}

impl DiskProbe {
    fn measure(&mut self, path: &Path) -> Result<DiskSpace, BoxError> {
        let storage = DiskRefreshKind::nothing().with_storage();
        if let Some(disk) = self.chosen.and_then(|i| self.disks.get_mut(i))
            && disk.refresh_specifics(storage)
        {
            return Ok(DiskSpace::of(disk));
        }
        // First check, or the chosen disk vanished: list the mounts again.
        self.chosen = None;
        let target = existing_ancestor(path)?;
        self.disks.refresh_specifics(true, storage);
        let chosen = self
            .disks
            .iter()
            .enumerate()
            .filter(|(_, d)| target.starts_with(d.mount_point()))
            .max_by_key(|(_, d)| d.mount_point().as_os_str().len())
            .map(|(i, _)| i)
            .ok_or_else(|| format!("no mounted filesystem holds {}", target.display()))?;
        self.chosen = Some(chosen);
        Ok(DiskSpace::of(&self.disks[chosen]))
    }
}

impl DiskSpace {
    fn of(disk: &sysinfo::Disk) -> Self {
        Self {
            mount_point: disk.mount_point().to_path_buf(),
            available: disk.available_space(),
            total: disk.total_space(),
        }
    }
}

/// The canonical form of `path` or of its nearest ancestor that exists.
fn existing_ancestor(path: &Path) -> Result<PathBuf, BoxError> {
    let absolute = std::path::absolute(path)?;
    absolute
        .ancestors()
        .find_map(|p| p.canonicalize().ok())
        .ok_or_else(|| format!("no part of {} is accessible", path.display()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space(available: u64, total: u64) -> DiskSpace {
        DiskSpace {
            mount_point: PathBuf::from("/data"),
            available,
            total,
        }
    }

    #[tokio::test]
    async fn passes_with_a_reachable_threshold() {
        let checker = DiskSpaceChecker::new(std::env::temp_dir(), 1);
        assert_eq!(checker.check().await.unwrap(), HealthStatus::Up);
        // The second check refreshes the disk found by the first.
        assert_eq!(checker.check().await.unwrap(), HealthStatus::Up);
    }

    #[tokio::test]
    async fn fails_when_the_threshold_exceeds_the_disk() {
        let checker = DiskSpaceChecker::new(std::env::temp_dir(), u64::MAX);
        let err = checker.check().await.unwrap_err().to_string();
        assert!(err.contains(" free of "), "{err}");
        assert!(err.ends_with("below the minimum of 16.0 EiB"), "{err}");
    }

    #[tokio::test]
    async fn fails_when_the_free_ratio_cannot_be_met() {
        let checker = DiskSpaceChecker::new(std::env::temp_dir(), 0).with_min_free_ratio(1.0);
        let err = checker.check().await.unwrap_err().to_string();
        assert!(err.contains("below the minimum of 100.0%"), "{err}");
    }

    #[tokio::test]
    async fn a_path_not_created_yet_is_judged_by_its_parent() {
        let missing = std::env::temp_dir().join("platform-disk-check-missing/a/b");
        let checker = DiskSpaceChecker::new(missing, 1);
        assert_eq!(checker.check().await.unwrap(), HealthStatus::Up);
    }

    #[test]
    fn judge_names_free_space_and_threshold() {
        let checker = DiskSpaceChecker::new("/data", 2 * 1024 * 1024 * 1024);
        assert_eq!(
            checker
                .judge(&space(3 * 1024 * 1024 * 1024, 100 * 1024 * 1024 * 1024))
                .unwrap(),
            HealthStatus::Up
        );
        let err = checker
            .judge(&space(1024 * 1024 * 1024, 100 * 1024 * 1024 * 1024))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "1.0 GiB free of 100.0 GiB (1.0%) on /data, below the minimum of 2.0 GiB"
        );
    }

    #[test]
    fn judge_applies_both_thresholds() {
        let checker = DiskSpaceChecker::new("/data", 100).with_min_free_ratio(0.1);
        assert_eq!(checker.judge(&space(200, 1000)).unwrap(), HealthStatus::Up);
        let err = checker.judge(&space(50, 1000)).unwrap_err().to_string();
        assert!(err.ends_with("below the minimum of 100 B and 10.0%"), "{err}");
        let err = checker.judge(&space(500, 10_000)).unwrap_err().to_string();
        assert!(err.contains("(5.0%)"), "{err}");
    }
}
