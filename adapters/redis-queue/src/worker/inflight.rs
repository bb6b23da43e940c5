//! The tasks this instance holds: each with its lease (extended by the
//! heartbeat), its handler deadline, and the signals that end it early.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use platform_ports::jobs::DEFAULT_TIMEOUT;
use tokio::sync::Notify;

use crate::proto::TaskMessage;

/// One task in hand.
#[derive(Debug)]
pub struct Leased {
    /// The task as dequeued.
    pub message: Arc<TaskMessage>,
    /// When it was dequeued.
    pub started: DateTime<Utc>,
    /// When its handler must be done: min(start + timeout, deadline).
    pub deadline: DateTime<Utc>,
    /// Local end of the lease, in Unix milliseconds.
    lease_until_ms: AtomicI64,
    /// Signalled when the lease ran out before the heartbeat could extend it.
    pub(crate) lost: Notify,
}

impl Leased {
    /// A task leased until `lease_until`, its handler deadline computed as
    /// asynq's processor does (30 minutes when neither is set).
    pub(crate) fn new(message: TaskMessage, lease_until: DateTime<Utc>) -> Self {
        let started = Utc::now();
        let by_timeout = (message.timeout > 0).then(|| started + chrono::Duration::seconds(message.timeout));
        let by_deadline = (message.deadline > 0)
            .then(|| DateTime::from_timestamp(message.deadline, 0))
            .flatten();
        let deadline = match (by_timeout, by_deadline) {
            (Some(a), Some(b)) => a.min(b),
            (Some(at), None) | (None, Some(at)) => at,
            (None, None) => started + chrono::Duration::from_std(DEFAULT_TIMEOUT).unwrap_or(chrono::Duration::MAX),
        };
        Self {
            message: Arc::new(message),
            started,
            deadline,
            lease_until_ms: AtomicI64::new(lease_until.timestamp_millis()),
            lost: Notify::new(),
        }
    }

    /// Whether the lease still holds (asynq writes nothing for a task whose
    /// lease ran out: the recoverer owns it then).
    #[must_use]
    pub fn lease_valid(&self) -> bool {
        Utc::now().timestamp_millis() <= self.lease_until_ms.load(Ordering::SeqCst)
    }

    /// The local end of the lease.
    #[must_use]
    pub fn lease_until(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.lease_until_ms.load(Ordering::SeqCst)).unwrap_or_default()
    }

    /// Moves the lease's end after a successful extension, unless it had
    /// already run out.
    pub(crate) fn extend(&self, until: DateTime<Utc>) -> bool {
        if !self.lease_valid() {
            return false;
        }
        self.lease_until_ms.store(until.timestamp_millis(), Ordering::SeqCst);
        true
    }

    /// How long until the handler's deadline.
    pub(crate) fn time_left(&self) -> Duration {
        (self.deadline - Utc::now()).to_std().unwrap_or_default()
    }
}

/// Every task in hand, by id.
#[derive(Default)]
pub(crate) struct InFlight {
    tasks: Mutex<HashMap<String, Arc<Leased>>>,
}

impl InFlight {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Leased>>> {
        // Each change is a single insert or remove.
        self.tasks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn insert(&self, leased: Arc<Leased>) {
        self.lock().insert(leased.message.id.clone(), leased);
    }

    pub(crate) fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    pub(crate) fn snapshot(&self) -> Vec<Arc<Leased>> {
        self.lock().values().cloned().collect()
    }
}
