//! Runs the cache contract against the in-memory cache.

use std::sync::Arc;

use platform_adapter_memory::MemoryCache;
use platform_contract::cache;

/// One test per check, each on a fresh cache (the prefix only keeps the
/// checks' keys apart, as on a shared server).
macro_rules! cache_contract {
    ($($check:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                cache::$check(Arc::new(MemoryCache::new()), stringify!($check)).await;
            }
        )+
    };
}

cache_contract!(
    cache_get_set_delete_exists,
    cache_binary_values_round_trip,
    cache_values_expire_after_their_ttl,
    cache_set_without_ttl_persists,
    cache_ttl_reports_remaining_time,
    cache_increment_counts_from_absent,
    cache_increment_sets_ttl_only_on_creation,
    cache_increment_rejects_non_integers,
);
