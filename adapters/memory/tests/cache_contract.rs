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

platform_contract::for_each_cache_check!(cache_contract);
