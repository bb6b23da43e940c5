//! Persistence ports: the unit of work, the outbox and one repository per aggregate.
//!
//! Reads run outside a transaction and take the caller's tenant explicitly, so
//! no adapter can forget the tenant filter. Writes take the open [`Tx`] of the
//! use case's unit of work, so domain rows, audit entries and outbox events
//! commit together or not at all.

mod audit;
mod outbox;
mod post;
mod role;
mod tokens;
mod uow;
mod user;

pub use audit::*;
pub use outbox::*;
pub use post::*;
pub use role::*;
pub use tokens::*;
pub use uow::*;
pub use user::*;
