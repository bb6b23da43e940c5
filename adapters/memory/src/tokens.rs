//! Refresh tokens and single-use verification tokens, stored by hash.

mod refresh;
mod verification;

pub use refresh::MemoryRefreshTokenStore;
pub(crate) use refresh::RefreshTokenTable;
pub use verification::MemoryVerificationTokenStore;
pub(crate) use verification::VerificationTokenTable;
