//! Events kept for a subscriber group that has no member at the moment (its
//! last member unsubscribed): the next member to join handles them first,
//! as a Kafka consumer group resumes from its committed offset.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use platform_ports::events::Event;

/// One group's waiting events, oldest first.
#[derive(Default)]
pub(super) struct Backlog {
    events: VecDeque<Arc<Event>>,
    /// Events dropped because the backlog was full.
    dropped: u64,
}

/// The backlogs of memberless groups, by topic and group name.
#[derive(Default)]
pub(super) struct Parked {
    topics: HashMap<String, HashMap<String, Backlog>>,
}

impl Parked {
    /// Starts keeping events for `group` on `topic` (its last member left).
    pub(super) fn open(&mut self, topic: &str, group: &str) {
        self.topics
            .entry(topic.to_owned())
            .or_default()
            .entry(group.to_owned())
            .or_default();
    }

    /// Whether a memberless group of `topic` keeps events.
    pub(super) fn waits_on(&self, topic: &str) -> bool {
        self.topics.contains_key(topic)
    }

    /// Keeps `event` for every memberless group of `topic`, dropping a
    /// group's oldest event beyond `capacity`.
    pub(super) fn push(&mut self, topic: &str, event: &Arc<Event>, capacity: usize) {
        let Some(groups) = self.topics.get_mut(topic) else {
            return;
        };
        for (group, backlog) in groups {
            if backlog.events.len() >= capacity.max(1) {
                backlog.events.pop_front();
                backlog.dropped += 1;
                if backlog.dropped == 1 {
                    tracing::warn!(topic, group = %group, capacity, "no member of the group is subscribed and its backlog is full; dropping its oldest events");
                }
            }
            backlog.events.push_back(event.clone());
        }
    }

    /// Puts events a leaving member had not handled back at the head of its
    /// group's backlog, ahead of what was published since it left.
    pub(super) fn push_front(&mut self, topic: &str, group: &str, events: Vec<Arc<Event>>) {
        let backlog = self
            .topics
            .entry(topic.to_owned())
            .or_default()
            .entry(group.to_owned())
            .or_default();
        for event in events.into_iter().rev() {
            backlog.events.push_front(event);
        }
    }

    /// Takes `group`'s backlog (a member joined): it is no longer parked.
    pub(super) fn take(&mut self, topic: &str, group: &str) -> VecDeque<Arc<Event>> {
        let Some(groups) = self.topics.get_mut(topic) else {
            return VecDeque::new();
        };
        let backlog = groups.remove(group).unwrap_or_default();
        if groups.is_empty() {
            self.topics.remove(topic);
        }
        if backlog.dropped > 0 {
            tracing::warn!(
                topic,
                group,
                dropped = backlog.dropped,
                "group rejoined; events dropped while it had no member"
            );
        }
        backlog.events
    }
}
