//! Opaque keyset cursors: the shared format from the ports, plus paging helpers.

use platform_ports::model::Page;
pub(crate) use platform_ports::model::{
    decode_id_cursor as decode_id, decode_time_id_cursor as decode_time_id, encode_id_cursor as encode_id,
    encode_time_id_cursor as encode_time_id,
};

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
    use chrono::DateTime;
    use platform_ports::StoreError;
    use uuid::Uuid;

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
