//! Hit and miss counting of a [`FallbackCache`](super::FallbackCache):
//! `cache.requests{result}` and `cache.hit_ratio`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use platform_ports::metrics::{Counter, Gauge, Label, Metrics};

/// The instruments, created once.
struct Instruments {
    requests: Arc<dyn Counter>,
    hit_ratio: Arc<dyn Gauge>,
}

/// Lookups (`get`, `exists`) that found a live value or not, wherever they
/// were served from: the application sees one cache.
#[derive(Default)]
pub(crate) struct Lookups {
    hits: AtomicU64,
    misses: AtomicU64,
    instruments: OnceLock<Instruments>,
}

impl Lookups {
    /// Reports to `metrics` from now on (the first registry given wins).
    pub(crate) fn export_to(&self, metrics: &dyn Metrics) {
        self.instruments.get_or_init(|| Instruments {
            requests: metrics.counter("cache.requests", "Cache lookups, by result (hit or miss).", "{request}"),
            hit_ratio: metrics.gauge(
                "cache.hit_ratio",
                "Share of cache lookups that found a value.",
                // Unit "1" would make the exporter append `_ratio` a second time.
                "",
            ),
        });
    }

    /// Counts one lookup.
    pub(crate) fn record(&self, hit: bool) {
        let (counter, result) = if hit {
            (&self.hits, "hit")
        } else {
            (&self.misses, "miss")
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(instruments) = self.instruments.get() {
            instruments.requests.add(1, &[Label::new("result", result)]);
            instruments.hit_ratio.record(self.hit_ratio(), &[]);
        }
    }

    pub(crate) fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    pub(crate) fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    fn hit_ratio(&self) -> f64 {
        let (hits, misses) = (self.hits(), self.misses());
        let total = hits.saturating_add(misses);
        // Counts stay far below 2^52, where f64 stops being exact.
        #[allow(clippy::cast_precision_loss)]
        if total == 0 { 0.0 } else { hits as f64 / total as f64 }
    }
}
