//! Host health checkers: free disk space and memory pressure.
//!
//! Both read the host through `sysinfo` on the blocking pool: `/ready` calls
//! them on every probe, and a slow `statvfs` or `/proc` read must not stall
//! the runtime (nor escape the registry's timeout).

mod disk;
mod memory;

use std::sync::{Arc, Mutex, PoisonError};

use platform_ports::BoxError;

pub use disk::DiskSpaceChecker;
pub use memory::MemoryUsageChecker;

/// Runs `probe` on the blocking pool with exclusive access to `state`.
async fn on_blocking_pool<S, T>(
    state: &Arc<Mutex<S>>,
    probe: impl FnOnce(&mut S) -> Result<T, BoxError> + Send + 'static,
) -> Result<T, BoxError>
where
    S: Send + 'static,
    T: Send + 'static,
{
    let state = Arc::clone(state);
    tokio::task::spawn_blocking(move || {
        // A probe that panicked left no half-written state worth refusing.
        let mut guard = state.lock().unwrap_or_else(PoisonError::into_inner);
        probe(&mut guard)
    })
    .await?
}

/// `part / whole`, or 0 when the whole is unknown.
fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        // Precision loss only starts beyond 2^53 bytes.
        part as f64 / whole as f64
    }
}

/// A byte count in binary units (`1.5 GiB`), for messages.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A ratio as a percentage, for messages.
fn percent(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_readable() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(5 * 1024 * 1024 * 1024), "5.0 GiB");
    }

    #[test]
    fn ratio_of_unknown_whole_is_zero() {
        assert!(ratio(5, 0).abs() < f64::EPSILON);
        assert!((ratio(1, 4) - 0.25).abs() < f64::EPSILON);
        assert_eq!(percent(0.1234), "12.3%");
    }
}
