//! Cryptography adapters, pure Rust (no OpenSSL, no aws-lc):
//!
//! - [`Argon2idHasher`] ([`PasswordHasher`]): argon2id PHC strings on a
//!   bounded slice of tokio's blocking pool;
//! - [`JwtCodec`] ([`TokenCodec`]): JWT access tokens, HS256 or RS256, with
//!   a JWKS document for RS256;
//! - [`HmacOpaqueTokens`] ([`OpaqueTokens`]): random refresh / verification
//!   tokens, their SHA-256 storage hashes and HMAC-keyed successors.
//!
//! Each is a shaku component whose parameter has no default: bootstrap
//! passes the settings (hasher), or the checked keys (codec, opaque tokens),
//! because reading keys can fail and a shaku build cannot.
//!
//! [`PasswordHasher`]: platform_ports::identity::PasswordHasher
//! [`TokenCodec`]: platform_ports::auth::TokenCodec
//! [`OpaqueTokens`]: platform_ports::auth::OpaqueTokens

mod jwt;
mod opaque;
mod password;

pub use jwt::{JwtAlgorithm, JwtCodec, JwtCodecParameters, JwtKeys, JwtSettings};
pub use opaque::{HmacOpaqueTokens, HmacOpaqueTokensParameters, RefreshKeyError, RefreshTokenKey};
pub use password::{Argon2Params, Argon2idHasher, Argon2idHasherParameters, HasherSettings};
