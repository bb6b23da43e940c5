//! Wrappers written once against the `Cache` port, composed by bootstrap
//! around whichever adapters it built: key namespacing, and a fallback cache
//! that serves while the primary is unreachable.

mod fallback;
mod lookups;
pub mod namespace;

#[cfg(test)]
mod tests;

pub use fallback::{FallbackCache, FallbackHealthChecker, FallbackSettings};
pub use namespace::NamespacedCache;
