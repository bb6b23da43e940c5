//! The dead letters this instance produced, for `EventBus::dead_letters`.
//!
//! The dead-letter topics hold every instance's; this ring answers from
//! this process alone (bounded, newest kept), which is what an operator
//! looking at one instance's `/dead-letters` expects without a consumer
//! reading the `.dlq` topics back.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use platform_ports::events::DeadLetter;

/// Dead letters, oldest first, at most `capacity`.
pub(crate) struct DeadLetters {
    capacity: usize,
    ring: Mutex<VecDeque<DeadLetter>>,
}

impl DeadLetters {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            ring: Mutex::new(VecDeque::new()),
        }
    }

    pub(crate) fn push(&self, letter: DeadLetter) {
        if self.capacity == 0 {
            return;
        }
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        while ring.len() >= self.capacity {
            ring.pop_front();
        }
        ring.push_back(letter);
    }

    /// The `limit` most recent, most recent last.
    pub(crate) fn latest(&self, limit: usize) -> Vec<DeadLetter> {
        let ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        ring.iter().skip(ring.len().saturating_sub(limit)).cloned().collect()
    }
}
