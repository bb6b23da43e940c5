//! Refresh tokens and single-use mailed tokens, stored by hash.

mod refresh;
mod verification;

pub use refresh::PgRefreshTokenStore;
pub use verification::PgVerificationTokenStore;
