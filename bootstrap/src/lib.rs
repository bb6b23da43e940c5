//! Composition root: configuration, logging, the shaku container, the
//! lifecycle and the `platform` binary. The only crate that sees everything.

pub mod app;
pub mod cli;
pub mod compose;
pub mod config;
pub mod container;
mod domain;
pub mod features;
mod jsonlog;
pub mod lifecycle;
pub mod logging;
mod logwriter;
pub mod rotation;
