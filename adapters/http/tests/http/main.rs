//! The adapter served on 127.0.0.1:0 and driven over real HTTP.

// clippy's allow-unwrap-in-tests does not reach the helpers of a test binary.
#![allow(clippy::unwrap_used)]

mod blog;
mod extract;
mod logging;
mod middleware;
mod openapi;
mod operational;
mod security;
mod shutdown;
mod support;
