//! What text the platform stores: the rule every adapter can keep.
//!
//! PostgreSQL refuses U+0000 in `text` while the memory adapter would keep
//! it, so the domain refuses it first and every adapter answers alike. The
//! other control characters (Unicode `Cc`: U+0001–U+001F, U+007F–U+009F) are
//! refused too: they are invisible, break logs and terminals, and no field
//! of the platform needs them, except tab, line feed and carriage return in
//! multi-line text (a post's body).

use super::FieldError;

/// Which control characters a field may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextKind {
    /// One line (names, titles, tags, filters): no control character at all.
    SingleLine,
    /// Free text (a post's body): tab, LF and CR, no other control character.
    MultiLine,
}

/// The JSON Schema `pattern` of a single-line field: no control character.
pub const SINGLE_LINE_PATTERN: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$";
/// The JSON Schema `pattern` of a multi-line field: tab, LF and CR only.
pub const MULTI_LINE_PATTERN: &str = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$";

/// Whether `c` may appear in a field of `kind`.
#[must_use]
pub fn is_storable(c: char, kind: TextKind) -> bool {
    !c.is_control() || (kind == TextKind::MultiLine && matches!(c, '\t' | '\n' | '\r'))
}

/// `Ok` when every character of `value` may be stored in a field of `kind`.
///
/// # Errors
/// A [`FieldError`] on `field` with code `invalid_character`, naming the
/// first refused character's code point (never the character itself).
pub fn check_storable(field: &str, value: &str, kind: TextKind) -> Result<(), FieldError> {
    match value.chars().find(|c| !is_storable(*c, kind)) {
        None => Ok(()),
        Some(bad) => Err(FieldError::new(
            field,
            "invalid_character",
            format!(
                "must not contain control characters (found U+{:04X}){}",
                u32::from(bad),
                if kind == TextKind::MultiLine {
                    "; tab, line feed and carriage return are allowed"
                } else {
                    ""
                }
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_and_controls_are_refused_naming_the_field() {
        for bad in ["a\0b", "\u{1}", "x\u{1b}[31m", "\u{7f}", "\u{85}"] {
            let err = check_storable("title", bad, TextKind::SingleLine).unwrap_err();
            assert_eq!((err.field.as_str(), err.code.as_str()), ("title", "invalid_character"));
            assert!(check_storable("content", bad, TextKind::MultiLine).is_err(), "{bad:?}");
        }
        let err = check_storable("title", "a\0b", TextKind::SingleLine).unwrap_err();
        assert!(err.message.contains("U+0000"), "{}", err.message);
    }

    #[test]
    fn line_breaks_and_tabs_only_in_multi_line_text() {
        for text in ["a\tb", "a\nb", "a\r\nb"] {
            assert!(check_storable("title", text, TextKind::SingleLine).is_err());
            assert!(check_storable("content", text, TextKind::MultiLine).is_ok());
        }
        for fine in ["", "Ada Lovelace", "ünïcödé ✓ 漢字", "\u{a0}nbsp", "\u{200b}"] {
            assert!(check_storable("title", fine, TextKind::SingleLine).is_ok(), "{fine:?}");
        }
    }
}
