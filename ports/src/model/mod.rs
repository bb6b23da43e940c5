//! The model every module shares: identifiers, validated values, pagination,
//! secrets and the request context. A module's own entities live in its
//! module (`identity::User`, `blog::Post`).

mod context;
mod email;
mod ids;
mod keyset;
mod page;
mod secret;
mod text;
mod timestamp;
mod validation;

pub use context::*;
pub use email::*;
pub(crate) use ids::uuid_id;
pub use ids::*;
pub use keyset::*;
pub use page::*;
pub use secret::*;
pub use text::*;
pub use timestamp::*;
pub use validation::*;
