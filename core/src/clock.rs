//! The real clock and id generator (the ports exist so tests can fix time and ids).

use chrono::{DateTime, SubsecRound, Utc};
use platform_ports::clock::{Clock, IdGenerator};
use uuid::Uuid;

/// Wall-clock time.
#[derive(Clone, Copy, Debug, Default, shaku::Component)]
#[shaku(interface = Clock)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        // Microseconds: what PostgreSQL stores, so a value returned at
        // creation equals the one read back later, on every adapter.
        Utc::now().trunc_subsecs(6)
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
    fn time_has_microsecond_precision() {
        assert_eq!(SystemClock.now().timestamp_subsec_nanos() % 1000, 0);
    }

    #[test]
    fn ids_are_v7_and_increase() {
        let g = UuidV7Generator;
        let (a, b) = (g.new_id(), g.new_id());
        assert_eq!(a.get_version_num(), 7);
        assert!(b > a);
    }
}
