//! The Redis job queue and distributed cron, wire-compatible with Go's
//! asynq (v0.24 and later): the keys, hash fields, protobuf messages and
//! state transitions in Redis are asynq's, so a Go service can enqueue
//! tasks that these workers run, and asynqmon, asynq's Inspector and CLI
//! show this platform's queues, tasks, servers, workers and cron entries.
//!
//! - [`RedisQueue`] implements `JobQueue` (enqueue, status by id) and
//!   `JobAdmin` (the Jobs API), and builds the rest from one connection.
//! - [`RedisQueueWorkers`] runs an apalis worker over [`AsynqBackend`] (an
//!   apalis `Backend` speaking asynq's dequeue, lease, ack, retry and
//!   archive), the heartbeat and asynq's forwarder, recoverer and janitor.
//! - [`RedisScheduler`] is distributed cron: one task per tick across instances.
//! - [`RedisQueueHealthChecker`] pings Redis.
//!
//! The Lua scripts are this crate's own; they leave Redis as asynq's do.

mod broker;
mod error;
mod health;
mod inspector;
mod keys;
mod link;
pub mod proto;
mod queue;
mod scheduler;
mod scripts;
mod settings;
mod worker;

pub use error::RedisQueueError;
pub use health::RedisQueueHealthChecker;
pub use keys::QueueKeys;
pub use link::ROUND_TRIPS;
pub use queue::RedisQueue;
pub use scheduler::RedisScheduler;
pub use settings::{QueueTimings, RedisQueueSettings};
pub use worker::{AckLayer, AckService, AsynqBackend, AsynqTask, HandlerRegistry, Leased, RedisQueueWorkers};
