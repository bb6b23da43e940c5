//! The list envelope every collection route answers with.

use platform_ports::model::Page;
use serde::Serialize;
use utoipa::ToSchema;

/// One page of a list: `{"items": [...], "next_cursor": "…" | null}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ListView<T> {
    /// The page's items, in the list's order.
    items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last one.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

impl<T> ListView<T> {
    /// A page of domain items in their client shape.
    pub(crate) fn page<D>(page: Page<D>) -> Self
    where
        T: From<D>,
    {
        let page = page.map(T::from);
        Self {
            items: page.items,
            next_cursor: page.next_cursor,
        }
    }

    /// A whole list: one page, no cursor.
    pub(crate) fn all(items: Vec<T>) -> Self {
        Self {
            items,
            next_cursor: None,
        }
    }
}
