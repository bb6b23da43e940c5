//! asynq's protobuf messages (`internal/proto/asynq.proto`, package
//! `asynq`), written as prost derives with asynq's field numbers and types.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

/// `google.protobuf.Timestamp`.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct Timestamp {
    /// Seconds since the Unix epoch.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds within the second.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(at: DateTime<Utc>) -> Self {
        Self {
            seconds: at.timestamp(),
            nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
        }
    }
}

impl Timestamp {
    /// The instant, `None` when out of range.
    #[must_use]
    pub fn to_datetime(self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(self.seconds, u32::try_from(self.nanos).unwrap_or(0))
    }
}

/// A task and its metadata: the `msg` field of a task hash.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TaskMessage {
    /// Task type (`notify:email`).
    #[prost(string, tag = "1")]
    pub r#type: String,
    /// Payload.
    #[prost(bytes = "vec", tag = "2")]
    pub payload: Vec<u8>,
    /// Task id.
    #[prost(string, tag = "3")]
    pub id: String,
    /// Queue name.
    #[prost(string, tag = "4")]
    pub queue: String,
    /// Retry budget.
    #[prost(int32, tag = "5")]
    pub retry: i32,
    /// Retries so far.
    #[prost(int32, tag = "6")]
    pub retried: i32,
    /// Last error message.
    #[prost(string, tag = "7")]
    pub error_msg: String,
    /// Per-attempt timeout in seconds (0: none).
    #[prost(int64, tag = "8")]
    pub timeout: i64,
    /// Deadline in Unix seconds (0: none).
    #[prost(int64, tag = "9")]
    pub deadline: i64,
    /// The full Redis key of the uniqueness lock ("" without one).
    #[prost(string, tag = "10")]
    pub unique_key: String,
    /// Last failure in Unix seconds (0: none).
    #[prost(int64, tag = "11")]
    pub last_failed_at: i64,
    /// Seconds the task is kept after success.
    #[prost(int64, tag = "12")]
    pub retention: i64,
    /// Success time in Unix seconds (set only with a retention).
    #[prost(int64, tag = "13")]
    pub completed_at: i64,
    /// Aggregation group ("" without one).
    #[prost(string, tag = "14")]
    pub group_key: String,
    /// Headers (asynq ≥ 0.26; older decoders skip the field).
    #[prost(map = "string, string", tag = "15")]
    pub headers: HashMap<String, String>,
}

/// A running server, written by the heartbeat (`asynq:servers:{…}`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ServerInfo {
    /// Host name.
    #[prost(string, tag = "1")]
    pub host: String,
    /// Process id.
    #[prost(int32, tag = "2")]
    pub pid: i32,
    /// Server id (a UUID).
    #[prost(string, tag = "3")]
    pub server_id: String,
    /// Most tasks run at once.
    #[prost(int32, tag = "4")]
    pub concurrency: i32,
    /// Queue name → priority.
    #[prost(map = "string, int32", tag = "5")]
    pub queues: HashMap<String, i32>,
    /// Whether higher-priority queues are always drained first.
    #[prost(bool, tag = "6")]
    pub strict_priority: bool,
    /// `active`, `stopped`...
    #[prost(string, tag = "7")]
    pub status: String,
    /// Start time.
    #[prost(message, optional, tag = "8")]
    pub start_time: Option<Timestamp>,
    /// Tasks in hand.
    #[prost(int32, tag = "9")]
    pub active_worker_count: i32,
}

/// A task in hand, written by the heartbeat (`asynq:workers:{…}`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct WorkerInfo {
    /// Host name.
    #[prost(string, tag = "1")]
    pub host: String,
    /// Process id.
    #[prost(int32, tag = "2")]
    pub pid: i32,
    /// Server id.
    #[prost(string, tag = "3")]
    pub server_id: String,
    /// Task id.
    #[prost(string, tag = "4")]
    pub task_id: String,
    /// Task type.
    #[prost(string, tag = "5")]
    pub task_type: String,
    /// Task payload.
    #[prost(bytes = "vec", tag = "6")]
    pub task_payload: Vec<u8>,
    /// Queue.
    #[prost(string, tag = "7")]
    pub queue: String,
    /// When the task started.
    #[prost(message, optional, tag = "8")]
    pub start_time: Option<Timestamp>,
    /// When the task must be done.
    #[prost(message, optional, tag = "9")]
    pub deadline: Option<Timestamp>,
}

/// A periodic task of a scheduler (`asynq:schedulers:{…}`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SchedulerEntry {
    /// Entry id.
    #[prost(string, tag = "1")]
    pub id: String,
    /// Cron spec.
    #[prost(string, tag = "2")]
    pub spec: String,
    /// Task type.
    #[prost(string, tag = "3")]
    pub task_type: String,
    /// Task payload.
    #[prost(bytes = "vec", tag = "4")]
    pub task_payload: Vec<u8>,
    /// Enqueue options as asynq prints them (`Queue("default")`).
    #[prost(string, repeated, tag = "5")]
    pub enqueue_options: Vec<String>,
    /// Next enqueue.
    #[prost(message, optional, tag = "6")]
    pub next_enqueue_time: Option<Timestamp>,
    /// Previous enqueue (zero time when none).
    #[prost(message, optional, tag = "7")]
    pub prev_enqueue_time: Option<Timestamp>,
}

/// One enqueue by a scheduler entry (`asynq:scheduler_history:<entry>`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SchedulerEnqueueEvent {
    /// The enqueued task's id.
    #[prost(string, tag = "1")]
    pub task_id: String,
    /// When.
    #[prost(message, optional, tag = "2")]
    pub enqueue_time: Option<Timestamp>,
}
