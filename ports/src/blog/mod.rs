//! The Blog example feature: posts, the `PostRepository`, the `BlogService`,
//! and the `AuthorStats` its example subscriber keeps.

pub mod permissions;

mod post;
mod repository;
mod service;
mod stats;

pub use post::*;
pub use repository::*;
pub use service::*;
pub use stats::*;
