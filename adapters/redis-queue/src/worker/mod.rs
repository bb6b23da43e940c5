//! The worker side: an apalis worker over [`AsynqBackend`], its heartbeat
//! (leases, server and worker state) and asynq's maintenance loops
//! (forwarder, recoverer, janitor), started and stopped as one background
//! service.

mod ack;
mod backend;
mod heartbeat;
mod inflight;
mod maintenance;
mod order;
mod registry;
mod service;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

pub use ack::{AckLayer, AckService};
pub use backend::AsynqBackend;
pub use inflight::Leased;
pub use registry::HandlerRegistry;
pub use service::RedisQueueWorkers;

use crate::proto::TaskMessage;
use crate::queue::Core;
use inflight::InFlight;
use order::QueueOrder;

/// What an apalis worker over [`AsynqBackend`] receives: the task as asynq
/// wrote it, and its lease.
#[derive(Clone, Debug)]
pub struct AsynqTask {
    leased: Arc<Leased>,
}

impl AsynqTask {
    /// The task message (type, payload, id, queue, retry counters...).
    #[must_use]
    pub fn message(&self) -> &Arc<TaskMessage> {
        &self.leased.message
    }

    /// The task's lease in this process.
    #[must_use]
    pub fn lease(&self) -> &Arc<Leased> {
        &self.leased
    }
}

/// Who this server is, as asynq's heartbeat writes it.
pub(crate) struct Identity {
    pub(crate) host: String,
    pub(crate) pid: u32,
    pub(crate) server_id: String,
    pub(crate) started: DateTime<Utc>,
}

impl Identity {
    fn new() -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "unknown-host".to_owned());
        Self {
            host,
            pid: std::process::id(),
            server_id: uuid::Uuid::new_v4().to_string(),
            started: Utc::now(),
        }
    }
}

/// What the backend, the ack layer, the heartbeat and the maintenance loops share.
pub(crate) struct WorkerShared {
    pub(crate) core: Arc<Core>,
    pub(crate) inflight: InFlight,
    pub(crate) identity: Identity,
    pub(crate) order: QueueOrder,
    /// Set when the shutdown timeout has passed: unfinished tasks go back.
    pub(crate) abort: watch::Sender<bool>,
}

impl WorkerShared {
    pub(crate) fn new(core: Arc<Core>) -> Self {
        let order = QueueOrder::new(&core.settings.queues, core.settings.strict_priority);
        Self {
            core,
            inflight: InFlight::default(),
            identity: Identity::new(),
            order,
            abort: watch::channel(false).0,
        }
    }
}
