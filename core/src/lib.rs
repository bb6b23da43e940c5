//! Domain logic of every module, written only against the ports.

pub mod clock;
pub mod errors;
pub mod health;
