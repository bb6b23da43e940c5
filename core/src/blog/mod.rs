//! Blog: posts, their publishing workflow (draft → published → archived →
//! draft), and who may see and change them. It is the platform's example of
//! a feature module, built the way a product team would add its own.
//!
//! # How a feature module plugs in
//!
//! A feature is one folder per layer; nothing in the kernel changes for it.
//!
//! - **ports** — the model ([`Post`](platform_ports::blog::Post),
//!   [`PostStatus`](platform_ports::blog::PostStatus)), one driven port per
//!   store ([`PostRepository`](platform_ports::blog::PostRepository)) and
//!   the driving port the outside calls
//!   ([`BlogService`](platform_ports::blog::BlogService)).
//! - **core** (this module) — the rules, written only against ports:
//!   - [`permissions`] declares the module's permissions with
//!     `platform_ports::declare_permissions!`; their `ALL` joins the
//!     permission catalog, so roles can grant them.
//!   - [`BLOG_TOPIC`], [`actions`] and [`events`] name what the module
//!     records: the audit actions and the event types it publishes.
//!   - [`BlogManager`] implements the driving port as a shaku component
//!     whose dependencies are all injected ports. Each change runs in one
//!     unit of work that writes the row, the audit entry and the outbox
//!     event together; the outbox relay publishes after commit.
//! - **application** — the module's declaration for the registry: name,
//!   permissions, routes, migrations, published events, handled events and
//!   jobs.
//! - **adapters** — a repository per storage profile (memory, PostgreSQL,
//!   each passing the shared contract suite) and the HTTP routes, which
//!   check the base permission (`blog.post.update`, ...) and map
//!   [`BlogError`](platform_ports::blog::BlogError) to problem+json.
//! - **bootstrap** — one line registering the module.
//!
//! # Authorization
//!
//! Routes check the permission of the operation; the service adds the
//! rule that depends on the post: acting on another author's post needs
//! [`permissions::POST_MANAGE`] (else `Forbidden`), and another author's
//! unpublished post is `NotFound` to a caller without it, so a refusal
//! never reveals that a draft exists.

mod manager;
mod names;
pub mod permissions;
mod policy;
mod service;
mod workflow;

#[cfg(test)]
mod tests;

pub use manager::{BlogManager, BlogManagerParameters};
pub use names::{BLOG_TOPIC, EVENT_SOURCE, actions, events};
pub use policy::{CONTENT_MAX, TAG_MAX, TAGS_MAX, TITLE_MAX};
