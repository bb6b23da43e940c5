//! Input rules of a post: what a title, a body and tags may be, and the
//! form they are stored in.

use platform_ports::blog::{BlogError, PostInput};
use platform_ports::model::{FieldError, TextKind, ValidationErrors, check_storable};

/// Longest title, in characters (after trimming).
pub const TITLE_MAX: usize = 200;
/// Longest body, in characters.
pub const CONTENT_MAX: usize = 100_000;
/// Most tags on one post (after removing repeats).
pub const TAGS_MAX: usize = 20;
/// Longest tag, in characters.
pub const TAG_MAX: usize = 40;

/// A post's fields in their stored form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ValidPost {
    /// Trimmed title.
    pub(crate) title: String,
    /// The body, as written.
    pub(crate) content: String,
    /// Normalised tags, first occurrence first.
    pub(crate) tags: Vec<String>,
}

/// Checks every field and reports all mistakes at once, so a form can show
/// them together.
///
/// # Errors
/// [`BlogError::Validation`] naming each invalid field.
pub(crate) fn validate(input: PostInput) -> Result<ValidPost, BlogError> {
    let title = title(&input.title);
    let content = content(input.content);
    let tags = tags(&input.tags);
    match (title, content, tags) {
        (Ok(title), Ok(content), Ok(tags)) => Ok(ValidPost { title, content, tags }),
        (title, content, tags) => Err(BlogError::Validation(ValidationErrors(
            [title.err(), content.err(), tags.err()].into_iter().flatten().collect(),
        ))),
    }
}

/// A tag filter in the stored form of tags, so `?tag=Rust` finds `rust`;
/// a blank filter filters nothing.
pub(crate) fn tag_filter(raw: Option<String>) -> Option<String> {
    raw.map(|tag| tag.trim().to_lowercase()).filter(|tag| !tag.is_empty())
}

/// A title: trimmed, present, at most [`TITLE_MAX`] characters.
fn title(raw: &str) -> Result<String, FieldError> {
    let title = raw.trim();
    if title.is_empty() {
        return Err(FieldError::new("title", "required", "must not be blank"));
    }
    check_storable("title", title, TextKind::SingleLine)?;
    if title.chars().count() > TITLE_MAX {
        return Err(FieldError::new(
            "title",
            "too_long",
            format!("must be at most {TITLE_MAX} characters"),
        ));
    }
    Ok(title.to_owned())
}

/// A body: kept as written (leading spaces can be markup), bounded.
fn content(raw: String) -> Result<String, FieldError> {
    check_storable("content", &raw, TextKind::MultiLine)?;
    if raw.chars().count() > CONTENT_MAX {
        return Err(FieldError::new(
            "content",
            "too_long",
            format!("must be at most {CONTENT_MAX} characters"),
        ));
    }
    Ok(raw)
}

/// Tags: each trimmed and lower-cased, 1..=[`TAG_MAX`] ASCII letters, digits
/// or `-` (they appear in URLs and filters), repeats dropped, at most
/// [`TAGS_MAX`] of them.
fn tags(raw: &[String]) -> Result<Vec<String>, FieldError> {
    let mut tags: Vec<String> = Vec::with_capacity(raw.len().min(TAGS_MAX));
    for tag in raw {
        let tag = tag.trim().to_lowercase();
        let well_formed =
            (1..=TAG_MAX).contains(&tag.chars().count()) && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !well_formed {
            return Err(FieldError::new(
                "tags",
                "invalid",
                format!("each tag must be 1 to {TAG_MAX} letters, digits or '-'"),
            ));
        }
        if tags.contains(&tag) {
            continue;
        }
        // Checked as tags are kept, so a huge list costs no more than this.
        if tags.len() == TAGS_MAX {
            return Err(FieldError::new("tags", "invalid", format!("at most {TAGS_MAX} tags")));
        }
        tags.push(tag);
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(title: &str, content: &str, tags: &[&str]) -> PostInput {
        PostInput {
            title: title.to_owned(),
            content: content.to_owned(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    fn fields(err: BlogError) -> Vec<(String, String)> {
        match err {
            BlogError::Validation(errors) => errors.0.into_iter().map(|e| (e.field, e.code)).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn stores_a_trimmed_title_and_normalised_unique_tags() {
        let valid = validate(input("  Hello  ", "  body\n", &[" Rust ", "rust", "WEB-dev", "2026"])).unwrap();
        assert_eq!(valid.title, "Hello");
        assert_eq!(valid.content, "  body\n");
        assert_eq!(valid.tags, ["rust", "web-dev", "2026"]);
    }

    #[test]
    fn title_bounds_count_characters_not_bytes() {
        assert!(validate(input(&"é".repeat(TITLE_MAX), "", &[])).is_ok());
        let err = validate(input(&"é".repeat(TITLE_MAX + 1), "", &[])).unwrap_err();
        assert_eq!(fields(err), [("title".to_owned(), "too_long".to_owned())]);
        let err = validate(input(" \t ", "", &[])).unwrap_err();
        assert_eq!(fields(err), [("title".to_owned(), "required".to_owned())]);
    }

    #[test]
    fn content_is_bounded() {
        assert!(validate(input("t", &"x".repeat(CONTENT_MAX), &[])).is_ok());
        let err = validate(input("t", &"x".repeat(CONTENT_MAX + 1), &[])).unwrap_err();
        assert_eq!(fields(err), [("content".to_owned(), "too_long".to_owned())]);
    }

    #[test]
    fn nul_and_control_characters_are_refused() {
        let err = validate(input("a\0b", "y", &[])).unwrap_err();
        assert_eq!(fields(err), [("title".to_owned(), "invalid_character".to_owned())]);
        let err = validate(input("t", "a\0b", &[])).unwrap_err();
        assert_eq!(fields(err), [("content".to_owned(), "invalid_character".to_owned())]);
        assert!(validate(input("t", "tab\there\r\nnext", &[])).is_ok());
        assert!(validate(input("t", "bell\u{7}", &[])).is_err());
        assert!(validate(input("t", "", &["a\0b"])).is_err());
    }

    #[test]
    fn malformed_tags_are_refused() {
        let long = "a".repeat(TAG_MAX + 1);
        for bad in ["", "  ", "two words", "c++", "café", "a_b", long.as_str()] {
            let err = validate(input("t", "", &[bad])).unwrap_err();
            assert_eq!(fields(err), [("tags".to_owned(), "invalid".to_owned())], "{bad:?}");
        }
        assert!(validate(input("t", "", &[&"a".repeat(TAG_MAX)])).is_ok());
    }

    #[test]
    fn at_most_twenty_distinct_tags() {
        let twenty: Vec<String> = (0..TAGS_MAX).map(|i| format!("t{i}")).collect();
        let mut with_repeats: Vec<&str> = twenty.iter().map(String::as_str).collect();
        with_repeats.extend(["T0", " t1 "]);
        assert_eq!(validate(input("t", "", &with_repeats)).unwrap().tags.len(), TAGS_MAX);
        with_repeats.push("t20");
        let err = validate(input("t", "", &with_repeats)).unwrap_err();
        assert_eq!(fields(err), [("tags".to_owned(), "invalid".to_owned())]);
    }

    #[test]
    fn every_invalid_field_is_reported_at_once() {
        let err = validate(input("", &"x".repeat(CONTENT_MAX + 1), &["no way"])).unwrap_err();
        assert_eq!(
            fields(err),
            [
                ("title".to_owned(), "required".to_owned()),
                ("content".to_owned(), "too_long".to_owned()),
                ("tags".to_owned(), "invalid".to_owned()),
            ]
        );
    }

    #[test]
    fn tag_filters_take_the_stored_form() {
        assert_eq!(tag_filter(Some(" Rust ".to_owned())).as_deref(), Some("rust"));
        assert_eq!(tag_filter(Some("  ".to_owned())), None);
        assert_eq!(tag_filter(None), None);
    }
}
