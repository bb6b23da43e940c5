//! The black-box security suite (issue 3): identity, authentication,
//! authorization, audit and tenancy, over real HTTP only (plus the mail
//! outbox directory), so it runs unchanged against any configured profile.
//!
//! One binary with one module per area: every test starts its own app.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod audit;
mod audit_verify;
mod auth;
mod authz;
mod hardening;
mod identity;
mod journey;
mod password;
mod ratelimit;
mod refresh;
mod support;
mod tenancy;
mod tokens;
