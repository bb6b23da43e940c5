//! Jobs: the job model, the `JobQueue` and the cron `Scheduler`.

mod job;
mod queue;

pub use job::*;
pub use queue::*;
