//! The shared model: identifiers, validated values, entities and the request context.

mod audit;
mod context;
mod email;
mod event;
mod ids;
mod job;
mod keyset;
mod page;
mod permission;
mod post;
mod role;
mod secret;
mod timestamp;
mod token;
mod user;
mod validation;

pub use audit::*;
pub use context::*;
pub use email::*;
pub use event::*;
pub use ids::*;
pub use job::*;
pub use keyset::*;
pub use page::*;
pub use permission::*;
pub use post::*;
pub use role::*;
pub use secret::*;
pub use timestamp::*;
pub use token::*;
pub use user::*;
pub use validation::*;
