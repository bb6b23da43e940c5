//! [`RedisQueueSettings`]: where Redis is, which queues this instance works
//! and how, and the intervals of asynq's background loops.

use std::collections::BTreeMap;
use std::time::Duration;

use platform_ports::jobs::RetryDelay;
use platform_ports::model::SecretString;

use crate::error::RedisQueueError;

/// The intervals of the protocol's background loops. asynq's values by
/// default; tests shorten them so leases, retries and recoveries take
/// seconds instead of minutes.
#[derive(Clone, Debug)]
pub struct QueueTimings {
    /// How long a dequeued task is leased (asynq: 30 s).
    pub lease: Duration,
    /// How often leases are extended and the server state written (asynq: 5 s).
    pub heartbeat_interval: Duration,
    /// How often expired leases are looked for (asynq: 1 min, and at start).
    pub recover_interval: Duration,
    /// How long past its end a lease must be before its task is taken back
    /// (asynq: 30 s).
    pub recover_grace: Duration,
    /// How often due scheduled and retry tasks are made pending (asynq: 5 s).
    pub forward_interval: Duration,
    /// How often completed tasks past their retention are deleted (asynq: 8 s).
    pub janitor_interval: Duration,
    /// How long a worker sleeps when every queue is empty: half of this
    /// plus a random part of it (asynq: 1 s). Tasks enqueued by this process
    /// wake it at once.
    pub task_check_interval: Duration,
    /// How often a scheduler writes its entries for asynqmon (asynq: 10 s).
    pub scheduler_heartbeat: Duration,
}

impl Default for QueueTimings {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(30),
            heartbeat_interval: Duration::from_secs(5),
            recover_interval: Duration::from_secs(60),
            recover_grace: Duration::from_secs(30),
            forward_interval: Duration::from_secs(5),
            janitor_interval: Duration::from_secs(8),
            task_check_interval: Duration::from_secs(1),
            scheduler_heartbeat: Duration::from_secs(10),
        }
    }
}

/// How to reach Redis and how this instance works its queues.
#[derive(Clone, Debug)]
pub struct RedisQueueSettings {
    /// `redis://[user:password@]host:port[/db]` (secret: may hold a password).
    pub url: SecretString,
    /// Tasks run at the same time by this instance.
    pub concurrency: usize,
    /// Queues this instance works, with their priority (asynq's weights).
    pub queues: BTreeMap<String, u32>,
    /// Always drain higher-priority queues first instead of weighting.
    pub strict_priority: bool,
    /// How long a job that does not say is kept after success.
    pub default_retention: Duration,
    /// How long stopping waits for tasks in hand before giving them back.
    pub shutdown_timeout: Duration,
    /// Longest wait for one Redis command.
    pub command_timeout: Duration,
    /// The wait before a failed task's next attempt (asynq's formula by default).
    pub retry_delay: RetryDelay,
    /// The queue cron jobs registered with `Scheduler::schedule` go to.
    pub cron_queue: String,
    /// How long a cron tick's task is kept after success; while kept, no
    /// other instance can enqueue the same tick again.
    pub cron_retention: Duration,
    /// The background loops' intervals.
    pub timings: QueueTimings,
}

impl Default for RedisQueueSettings {
    fn default() -> Self {
        Self {
            url: SecretString::new("redis://127.0.0.1:6379"),
            concurrency: 10,
            queues: BTreeMap::from([("default".to_owned(), 1)]),
            strict_priority: false,
            default_retention: Duration::ZERO,
            shutdown_timeout: Duration::from_secs(8),
            command_timeout: Duration::from_secs(5),
            retry_delay: RetryDelay::asynq(),
            cron_queue: "default".to_owned(),
            cron_retention: Duration::from_secs(3600),
            timings: QueueTimings::default(),
        }
    }
}

impl RedisQueueSettings {
    /// Refuses settings that cannot work, naming the setting.
    ///
    /// # Errors
    /// [`RedisQueueError::Settings`].
    pub fn validate(&self) -> Result<(), RedisQueueError> {
        let bad = |field, reason: &str| {
            Err(RedisQueueError::Settings {
                field,
                reason: reason.to_owned(),
            })
        };
        if self.concurrency == 0 {
            return bad("concurrency", "must be at least 1");
        }
        if self.queues.is_empty() {
            return bad("queues", "must name at least one queue");
        }
        if self.queues.keys().any(|queue| queue.trim().is_empty()) {
            return bad("queues", "must not contain a blank queue name");
        }
        if self
            .queues
            .values()
            .any(|&weight| weight == 0 || weight > i32::MAX as u32)
        {
            return bad("queues", "weights must be between 1 and 2147483647");
        }
        if self.cron_queue.trim().is_empty() {
            return bad("cron_queue", "must not be blank");
        }
        if self.command_timeout.is_zero() {
            return bad("command_timeout", "must be positive");
        }
        let t = &self.timings;
        if t.lease < Duration::from_secs(1) {
            return bad(
                "timings.lease",
                "must be at least one second (leases are stored in seconds)",
            );
        }
        if t.heartbeat_interval.is_zero() || t.heartbeat_interval >= t.lease {
            return bad(
                "timings.heartbeat_interval",
                "must be positive and shorter than the lease",
            );
        }
        for (field, interval) in [
            ("timings.recover_interval", t.recover_interval),
            ("timings.forward_interval", t.forward_interval),
            ("timings.janitor_interval", t.janitor_interval),
            ("timings.task_check_interval", t.task_check_interval),
            ("timings.scheduler_heartbeat", t.scheduler_heartbeat),
        ] {
            if interval.is_zero() {
                return bad(field, "must be positive");
            }
        }
        Ok(())
    }

    /// The URL without credentials, for log lines.
    #[must_use]
    pub fn display_url(&self) -> String {
        let url = self.url.expose();
        let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
        let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
        format!("{scheme}://{rest}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_asynqs_and_valid() {
        let settings = RedisQueueSettings::default();
        settings.validate().unwrap();
        assert_eq!(settings.timings.lease, Duration::from_secs(30));
        let mut zero = settings.clone();
        zero.queues.insert("low".into(), 0);
        assert!(matches!(
            zero.validate(),
            Err(RedisQueueError::Settings { field: "queues", .. })
        ));
        let mut short = settings;
        short.timings.heartbeat_interval = Duration::from_secs(30);
        assert!(short.validate().is_err());
    }

    #[test]
    fn the_display_url_hides_credentials() {
        let settings = RedisQueueSettings {
            url: SecretString::new("redis://:pw@cache:6379/3"),
            ..RedisQueueSettings::default()
        };
        assert_eq!(settings.display_url(), "redis://cache:6379/3");
    }
}
