//! Authentication: token model, the access-token codec and opaque tokens,
//! the refresh and verification token stores, and the `Authenticator`.

mod codec;
mod service;
mod stores;
mod token;

pub use codec::*;
pub use service::*;
pub use stores::*;
pub use token::*;
