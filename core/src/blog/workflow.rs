//! The publishing workflow: which status may follow which, and what each
//! move records.

use platform_ports::blog::BlogError;
use platform_ports::blog::PostStatus;

use super::names::{actions, events};

/// What one allowed move records: its audit action and its event type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Step {
    /// The audit action.
    pub(crate) action: &'static str,
    /// The event type.
    pub(crate) event: &'static str,
}

/// The step from `from` to `to`: draft → published, published → archived,
/// archived → draft. Anything else, staying put included, is refused so a
/// client learns its view of the post is stale.
///
/// # Errors
/// [`BlogError::InvalidTransition`].
pub(crate) fn step(from: PostStatus, to: PostStatus) -> Result<Step, BlogError> {
    use PostStatus::{Archived, Draft, Published};
    let (action, event) = match (from, to) {
        (Draft, Published) => (actions::POST_PUBLISHED, events::POST_PUBLISHED),
        // Archiving and restoring have no event type of their own: consumers
        // see a changed post whose data carries the new status.
        (Published, Archived) => (actions::POST_ARCHIVED, events::POST_UPDATED),
        (Archived, Draft) => (actions::POST_RESTORED, events::POST_UPDATED),
        _ => return Err(BlogError::InvalidTransition { from, to }),
    };
    Ok(Step { action, event })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [PostStatus; 3] = [PostStatus::Draft, PostStatus::Published, PostStatus::Archived];

    #[test]
    fn exactly_three_moves_are_allowed() {
        let allowed: Vec<(PostStatus, PostStatus)> = ALL
            .iter()
            .flat_map(|from| ALL.iter().map(move |to| (*from, *to)))
            .filter(|(from, to)| step(*from, *to).is_ok())
            .collect();
        assert_eq!(
            allowed,
            [
                (PostStatus::Draft, PostStatus::Published),
                (PostStatus::Published, PostStatus::Archived),
                (PostStatus::Archived, PostStatus::Draft),
            ]
        );
    }

    #[test]
    fn a_refused_move_names_both_ends() {
        let err = step(PostStatus::Archived, PostStatus::Published).unwrap_err();
        assert!(
            matches!(
                err,
                BlogError::InvalidTransition {
                    from: PostStatus::Archived,
                    to: PostStatus::Published
                }
            ),
            "{err:?}"
        );
    }
}
