//! Time and identifiers, as ports so tests can fix them.

use chrono::{DateTime, Utc};
use shaku::Interface;
use uuid::Uuid;

/// The current time.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait Clock: Interface {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// New identifiers.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait IdGenerator: Interface {
    /// A new time-ordered (v7) UUID.
    fn new_id(&self) -> Uuid;
}
