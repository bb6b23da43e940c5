//! Composition root: configuration, logging, the shaku container, the
//! lifecycle and the `platform` binary. The only crate that sees everything.

pub mod app;
pub mod cli;
pub mod config;
pub mod container;
pub mod features;
pub(crate) mod infra;
mod jsonlog;
pub mod lifecycle;
pub mod logging;
mod logwriter;
pub mod secrets;
mod shared;
mod wiring;
