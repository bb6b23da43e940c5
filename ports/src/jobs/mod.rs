//! Jobs: the job model, the `JobQueue`, the Jobs API's `JobAdmin` and the
//! cron `Scheduler`. Task types and states follow asynq, whose Redis format
//! the production queue speaks.

mod admin;
mod id;
mod job;
pub mod permissions;
mod queue;

pub use admin::*;
pub use id::*;
pub use job::*;
pub use queue::*;
