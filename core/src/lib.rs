//! Domain logic of every module, written only against the ports.

pub mod cache;
pub mod clock;
pub mod errors;
pub mod health;
pub mod permissions;
pub mod ratelimit;
pub mod support;
mod unit_of_work;

pub mod apikeys;
pub mod audit;
pub mod auth;
pub mod authz;
pub mod blog;
pub mod files;
pub mod identity;
pub mod notify;
pub mod webhooks;

#[cfg(test)]
mod testing;
