//! asynq's Redis key names. Every key of a queue carries the `{queue}` hash
//! tag, so a queue lives in one cluster slot and one script may touch it all.

use chrono::{DateTime, Utc};
use md5::{Digest, Md5};

/// SET of every queue name.
pub const ALL_QUEUES: &str = "asynq:queues";
/// ZSET of server keys scored by expiry.
pub const ALL_SERVERS: &str = "asynq:servers";
/// ZSET of worker keys scored by expiry.
pub const ALL_WORKERS: &str = "asynq:workers";
/// ZSET of scheduler keys scored by expiry.
pub const ALL_SCHEDULERS: &str = "asynq:schedulers";

/// The keys of one queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueKeys {
    prefix: String,
}

impl QueueKeys {
    /// The keys of `queue`.
    #[must_use]
    pub fn new(queue: &str) -> Self {
        Self {
            prefix: format!("asynq:{{{queue}}}:"),
        }
    }

    fn key(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.prefix)
    }

    /// `asynq:{q}:` (what scripts append state names to).
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
    /// `asynq:{q}:t:` (what scripts append task ids to).
    #[must_use]
    pub fn task_prefix(&self) -> String {
        self.key("t:")
    }
    /// The hash of one task.
    #[must_use]
    pub fn task(&self, id: &str) -> String {
        format!("{}t:{id}", self.prefix)
    }
    /// LIST of pending ids.
    #[must_use]
    pub fn pending(&self) -> String {
        self.key("pending")
    }
    /// LIST of active ids.
    #[must_use]
    pub fn active(&self) -> String {
        self.key("active")
    }
    /// ZSET id → lease expiry.
    #[must_use]
    pub fn lease(&self) -> String {
        self.key("lease")
    }
    /// ZSET id → process time.
    #[must_use]
    pub fn scheduled(&self) -> String {
        self.key("scheduled")
    }
    /// ZSET id → retry time.
    #[must_use]
    pub fn retry(&self) -> String {
        self.key("retry")
    }
    /// ZSET id → archive time.
    #[must_use]
    pub fn archived(&self) -> String {
        self.key("archived")
    }
    /// ZSET id → end of retention.
    #[must_use]
    pub fn completed(&self) -> String {
        self.key("completed")
    }
    /// Exists while the queue is paused.
    #[must_use]
    pub fn paused(&self) -> String {
        self.key("paused")
    }
    /// Total processed counter.
    #[must_use]
    pub fn processed_total(&self) -> String {
        self.key("processed")
    }
    /// Total failed counter.
    #[must_use]
    pub fn failed_total(&self) -> String {
        self.key("failed")
    }
    /// Processed counter of the day `at` falls on (UTC).
    #[must_use]
    pub fn processed_on(&self, at: DateTime<Utc>) -> String {
        format!("{}processed:{}", self.prefix, at.format("%Y-%m-%d"))
    }
    /// Failed counter of the day `at` falls on (UTC).
    #[must_use]
    pub fn failed_on(&self, at: DateTime<Utc>) -> String {
        format!("{}failed:{}", self.prefix, at.format("%Y-%m-%d"))
    }
    /// SET of group names.
    #[must_use]
    pub fn groups(&self) -> String {
        self.key("groups")
    }
    /// `asynq:{q}:g:` (group ZSETs).
    #[must_use]
    pub fn group_prefix(&self) -> String {
        self.key("g:")
    }
    /// The uniqueness lock of a task type and payload: asynq's hex MD5 of
    /// the payload, or nothing after the type for an empty payload (what Go
    /// writes for a nil one, the usual form of a task without payload).
    #[must_use]
    pub fn unique(&self, task_type: &str, payload: &[u8]) -> String {
        if payload.is_empty() {
            return format!("{}unique:{task_type}:", self.prefix);
        }
        let digest = Md5::digest(payload);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("{}unique:{task_type}:{hex}", self.prefix)
    }
}

/// `asynq:servers:{host:pid:id}`.
#[must_use]
pub fn server_info(host: &str, pid: u32, server_id: &str) -> String {
    format!("asynq:servers:{{{host}:{pid}:{server_id}}}")
}

/// `asynq:workers:{host:pid:id}`.
#[must_use]
pub fn workers(host: &str, pid: u32, server_id: &str) -> String {
    format!("asynq:workers:{{{host}:{pid}:{server_id}}}")
}

/// `asynq:schedulers:{id}`.
#[must_use]
pub fn scheduler_entries(scheduler_id: &str) -> String {
    format!("asynq:schedulers:{{{scheduler_id}}}")
}

/// `asynq:scheduler_history:<entry id>`.
#[must_use]
pub fn scheduler_history(entry_id: &str) -> String {
    format!("asynq:scheduler_history:{entry_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_asynq() {
        let q = QueueKeys::new("critical");
        assert_eq!(q.pending(), "asynq:{critical}:pending");
        assert_eq!(q.task("abc"), "asynq:{critical}:t:abc");
        assert_eq!(q.task_prefix(), "asynq:{critical}:t:");
        let day = DateTime::parse_from_rfc3339("2026-03-04T23:59:59Z").unwrap().to_utc();
        assert_eq!(q.processed_on(day), "asynq:{critical}:processed:2026-03-04");
        assert_eq!(q.failed_on(day), "asynq:{critical}:failed:2026-03-04");
        // md5("hello") = 5d41402abc4b2a76b9719d911017c592
        assert_eq!(
            q.unique("notify:email", b"hello"),
            "asynq:{critical}:unique:notify:email:5d41402abc4b2a76b9719d911017c592"
        );
        assert_eq!(q.unique("cron:tick", b""), "asynq:{critical}:unique:cron:tick:");
        assert_eq!(server_info("h", 7, "s"), "asynq:servers:{h:7:s}");
        assert_eq!(workers("h", 7, "s"), "asynq:workers:{h:7:s}");
        assert_eq!(scheduler_entries("h:7:x"), "asynq:schedulers:{h:7:x}");
    }
}
