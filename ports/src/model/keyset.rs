//! Keyset cursors shared by every adapter, so a client's cursor survives a
//! switch of adapters. A cursor names its list (`user`, `post`, `audit`): a
//! cursor of one list handed to another is refused instead of silently
//! skipping rows.

use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

use super::{decode_cursor, encode_cursor};
use crate::StoreError;

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
#[must_use]
pub fn encode_id_cursor(kind: &str, id: Uuid) -> String {
    encode_cursor(&format!("{kind}|{id}"))
}

/// The id inside a cursor made by [`encode_id_cursor`] for the same list.
///
/// # Errors
/// `StoreError::Conflict("invalid cursor")` for a cursor this list did not make.
pub fn decode_id_cursor(kind: &str, cursor: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(&decode_key(kind, cursor)?).map_err(|_| invalid())
}

/// A cursor that resumes the list `kind` after the row keyed `(at, id)`.
#[must_use]
pub fn encode_time_id_cursor(kind: &str, at: DateTime<Utc>, id: Uuid) -> String {
    encode_cursor(&format!(
        "{kind}|{}|{id}",
        at.to_rfc3339_opts(SecondsFormat::Nanos, true)
    ))
}

/// The `(time, id)` key inside a cursor made by [`encode_time_id_cursor`] for the same list.
///
/// # Errors
/// `StoreError::Conflict("invalid cursor")` for a cursor this list did not make.
pub fn decode_time_id_cursor(kind: &str, cursor: &str) -> Result<(DateTime<Utc>, Uuid), StoreError> {
    let key = decode_key(kind, cursor)?;
    let (at, id) = key.split_once('|').ok_or_else(invalid)?;
    let at = DateTime::parse_from_rfc3339(at)
        .map_err(|_| invalid())?
        .with_timezone(&Utc);
    let id = Uuid::parse_str(id).map_err(|_| invalid())?;
    Ok((at, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_name_their_list() {
        let id = Uuid::now_v7();
        assert_eq!(decode_id_cursor("user", &encode_id_cursor("user", id)).unwrap(), id);
        assert!(decode_id_cursor("post", &encode_id_cursor("user", id)).is_err());
        let at = Utc::now();
        assert_eq!(
            decode_time_id_cursor("audit", &encode_time_id_cursor("audit", at, id)).unwrap(),
            (at, id)
        );
        assert!(decode_time_id_cursor("audit", "garbage").is_err());
    }
}
