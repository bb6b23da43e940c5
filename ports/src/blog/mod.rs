//! The Blog example feature: posts, the `PostRepository` and the `BlogService`.

pub mod permissions;

mod post;
mod repository;
mod service;

pub use post::*;
pub use repository::*;
pub use service::*;
