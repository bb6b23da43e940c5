//! The jobs ports' errors as problems, each with a stable code.

use platform_ports::audit::AuditError;
use platform_ports::jobs::{JobAdminError, JobError};

use platform_ports::model::FieldError;

use crate::problem::Problem;

/// Every `JobAdmin` error.
pub(crate) fn admin(err: JobAdminError) -> Problem {
    match err {
        JobAdminError::QueueNotFound(queue) => Problem::not_found(format!("no queue `{queue}`"))
            .with_code("queue_not_found")
            .with_title("Queue not found"),
        JobAdminError::JobNotFound { queue, id } => Problem::not_found(format!("no task `{id}` in queue `{queue}`"))
            .with_code("task_not_found")
            .with_title("Task not found"),
        JobAdminError::WrongState { state, reason } => {
            Problem::conflict(format!("the task is {}: {reason}", state.as_str()))
                .with_code("task_state_conflict")
                .with_title("The task's state does not allow this")
        }
        JobAdminError::AlreadyInState { queue, paused: true } => {
            Problem::conflict(format!("queue `{queue}` is already paused"))
                .with_code("queue_already_paused")
                .with_title("Queue already paused")
        }
        JobAdminError::AlreadyInState { queue, paused: false } => {
            Problem::conflict(format!("queue `{queue}` is not paused"))
                .with_code("queue_not_paused")
                .with_title("Queue not paused")
        }
        // As on every other list: a cursor of the documented shape that this
        // list did not return is 422 (a malformed `limit` stays 400).
        JobAdminError::InvalidCursor => {
            Problem::unprocessable(FieldError::new("cursor", "invalid", "is not a cursor this list returned").into())
        }
        err @ JobAdminError::Backend(_) => Problem::service_unavailable().with_cause(err),
    }
}

/// A `JobQueue` status lookup's error.
pub(crate) fn queue(err: JobError) -> Problem {
    Problem::service_unavailable().with_cause(err)
}

/// The audit entry of a done action could not be recorded.
pub(crate) fn audit(err: AuditError) -> Problem {
    Problem::service_unavailable().with_cause(err)
}

#[cfg(test)]
mod tests {
    use http::StatusCode;
    use platform_ports::jobs::{JobId, JobState};

    use super::*;

    #[test]
    fn each_error_has_its_status_and_code() {
        let id = JobId::parse("t").unwrap();
        let cases = [
            (
                JobAdminError::QueueNotFound("q".into()),
                StatusCode::NOT_FOUND,
                "queue_not_found",
            ),
            (
                JobAdminError::JobNotFound { queue: "q".into(), id },
                StatusCode::NOT_FOUND,
                "task_not_found",
            ),
            (
                JobAdminError::WrongState {
                    state: JobState::Active,
                    reason: "cannot delete an active task",
                },
                StatusCode::CONFLICT,
                "task_state_conflict",
            ),
            (
                JobAdminError::AlreadyInState {
                    queue: "q".into(),
                    paused: true,
                },
                StatusCode::CONFLICT,
                "queue_already_paused",
            ),
            (
                JobAdminError::AlreadyInState {
                    queue: "q".into(),
                    paused: false,
                },
                StatusCode::CONFLICT,
                "queue_not_paused",
            ),
            (
                JobAdminError::InvalidCursor,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            ),
            (
                JobAdminError::backend("redis down"),
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
            ),
        ];
        for (err, status, code) in cases {
            let problem = admin(err);
            assert_eq!((problem.status(), problem.code()), (status, code));
        }
    }
}
