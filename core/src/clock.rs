//! The real clock and id generator (the ports exist so tests can fix time and ids).

use chrono::{DateTime, Utc};
use platform_ports::clock::{Clock, IdGenerator};
use uuid::Uuid;

/// Wall-clock time.
#[derive(Clone, Copy, Debug, Default, shaku::Component)]
#[shaku(interface = Clock)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Time-ordered UUIDv7 ids, so primary keys sort by creation.
#[derive(Clone, Copy, Debug, Default, shaku::Component)]
#[shaku(interface = IdGenerator)]
pub struct UuidV7Generator;

impl IdGenerator for UuidV7Generator {
    fn new_id(&self) -> Uuid {
        Uuid::now_v7()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_v7_and_increase() {
        let g = UuidV7Generator;
        let (a, b) = (g.new_id(), g.new_id());
        assert_eq!(a.get_version_num(), 7);
        assert!(b > a);
    }
}
