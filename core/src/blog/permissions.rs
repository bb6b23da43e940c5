//! The Blog module's permissions, declared in `platform_ports::blog::permissions`
//! (where the HTTP adapter reads them too).

pub use platform_ports::blog::permissions::*;
