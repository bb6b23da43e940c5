//! Opaque keyset cursors shared by the memory lists.
//!
//! A cursor names its list (`user`, `post`, `audit`) so a cursor of one list
//! handed to another is refused instead of silently skipping rows.

use chrono::{DateTime, SecondsFormat, Utc};
use platform_ports::StoreError;
use platform_ports::model::{Page, decode_cursor, encode_cursor};
use uuid::Uuid;

/// A `(time, id)` sort key, as time-ordered lists page on.
type TimeKey = (DateTime<Utc>, Uuid);

fn invalid() -> StoreError {
    StoreError::Conflict("invalid cursor".to_owned())
}

/// The key inside a cursor of the list `kind`, without the list's name.
fn decode_key(kind: &str, cursor: &str) -> Result<String, StoreError> {
    let key = decode_cursor(cursor).map_err(|_| invalid())?;
    key.strip_prefix(kind)
        .and_then(|rest| rest.strip_prefix('|'))
        .map(str::to_owned)
        .ok_or_else(invalid)
}

/// A cursor that resumes the list `kind` after `id`.
pub(crate) fn encode_id(kind: &str, id: Uuid) -> String {
    encode_cursor(&format!("{kind}|{id}"))
}

/// The id inside a cursor made by [`encode_id`] for the same list.
pub(crate) fn decode_id(kind: &str, cursor: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(&decode_key(kind, cursor)?).map_err(|_| invalid())
}

/// A cursor that resumes the list `kind` after the row keyed `(at, id)`.
pub(crate) fn encode_time_id(kind: &str, at: DateTime<Utc>, id: Uuid) -> String {
    encode_cursor(&format!(
        "{kind}|{}|{id}",
        at.to_rfc3339_opts(SecondsFormat::Nanos, true)
    ))
}

/// The key inside a cursor made by [`encode_time_id`] for the same list.
pub(crate) fn decode_time_id(kind: &str, cursor: &str) -> Result<TimeKey, StoreError> {
    let key = decode_key(kind, cursor)?;
    let (at, id) = key.split_once('|').ok_or_else(invalid)?;
    let at = DateTime::parse_from_rfc3339(at)
        .map_err(|_| invalid())?
        .with_timezone(&Utc);
    let id = Uuid::parse_str(id).map_err(|_| invalid())?;
    Ok((at, id))
}

/// Takes up to `limit` items (at least one); when more remain, the page's
/// cursor is made from the last item taken.
pub(crate) fn paginate<T>(items: impl Iterator<Item = T>, limit: u32, cursor_of: impl Fn(&T) -> String) -> Page<T> {
    let limit = usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
    // One extra item tells whether another page exists without a count.
    let mut items: Vec<T> = items.take(limit.saturating_add(1)).collect();
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(cursor_of)
    } else {
        None
    };
    Page { items, next_cursor }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_name_their_list() {
        let id = Uuid::now_v7();
        assert_eq!(decode_id("user", &encode_id("user", id)).unwrap(), id);
        assert!(decode_id("post", &encode_id("user", id)).is_err());

        let at = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap();
        assert_eq!(
            decode_time_id("audit", &encode_time_id("audit", at, id)).unwrap(),
            (at, id)
        );
        assert!(decode_time_id("post", &encode_time_id("audit", at, id)).is_err());
        assert!(decode_time_id("audit", &encode_id("audit", id)).is_err());
    }

    #[test]
    fn garbage_is_a_conflict() {
        for bad in ["!!", "", "dXNlcnxub3QtYS11dWlk"] {
            assert!(matches!(decode_id("user", bad), Err(StoreError::Conflict(_))), "{bad}");
        }
    }

    #[test]
    fn paginate_sets_cursor_only_when_more_remain() {
        let page = paginate(1..=5, 2, ToString::to_string);
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next_cursor.as_deref(), Some("2"));
        let last = paginate(1..=2, 2, ToString::to_string);
        assert_eq!(last.items, vec![1, 2]);
        assert_eq!(last.next_cursor, None);
    }
}
