//! Transfer encodings for mail: quoted-printable bodies (RFC 2045) and header
//! text as folded ASCII or RFC 2047 encoded-words.

use std::fmt::Write as _;

/// Longest quoted-printable line, without its CRLF (RFC 2045 §6.7 rule 5).
const QP_LINE_LIMIT: usize = 76;

/// Longest header line we aim for, without its CRLF (RFC 5322 §2.1.1).
const HEADER_LINE_LIMIT: usize = 78;

/// Longest header line holding an encoded-word (RFC 2047 §2).
const ENCODED_LINE_LIMIT: usize = 76;

/// Words longer than this cannot be folded as plain text and are encoded instead.
const LONGEST_PLAIN_WORD: usize = 60;

const ENCODED_WORD_PREFIX: &str = "=?UTF-8?Q?";
const ENCODED_WORD_SUFFIX: &str = "?=";

/// Encodes `text` as quoted-printable with CRLF line breaks.
///
/// `\n` and `\r\n` become hard line breaks; lines longer than 76 characters
/// get soft breaks (`=` at the end of the line), never inside an escape or a
/// multi-byte character.
pub(super) fn quoted_printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    for (index, line) in text.split('\n').enumerate() {
        if index > 0 {
            out.push_str("\r\n");
        }
        encode_qp_line(line.strip_suffix('\r').unwrap_or(line), &mut out);
    }
    out
}

fn encode_qp_line(line: &str, out: &mut String) {
    let mut column = 0;
    let mut token = String::with_capacity(12);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        let last = chars.peek().is_none();
        token.clear();
        match c {
            // Printable ASCII except `=` stands for itself.
            '!'..='<' | '>'..='~' => token.push(c),
            // Whitespace is literal unless it would end the line, where transports may strip it.
            ' ' | '\t' if !last => token.push(c),
            _ => push_escaped(c, &mut token),
        }
        // A line that continues needs one column for the soft-break `=`.
        let limit = if last { QP_LINE_LIMIT } else { QP_LINE_LIMIT - 1 };
        if column > 0 && column + token.len() > limit {
            out.push_str("=\r\n");
            column = 0;
        }
        out.push_str(&token);
        column += token.len();
    }
}

/// `=XX` for every UTF-8 byte of `c`.
fn push_escaped(c: char, out: &mut String) {
    let mut buf = [0; 4];
    for byte in c.encode_utf8(&mut buf).bytes() {
        let _ = write!(out, "={byte:02X}");
    }
}

/// A full header field `Name: value` (no trailing CRLF), folded, with `value`
/// as RFC 2047 encoded-words when it is not plain printable ASCII.
///
/// The caller must have rejected CR and LF in `value`.
pub(super) fn header(name: &str, value: &str) -> String {
    if needs_encoding(value) {
        format!("{name}: {}", encoded_words(name.len() + 2, value))
    } else {
        format!("{name}: {}", fold_plain(name.len() + 2, value))
    }
}

/// Whether `text` must be carried in encoded-words.
pub(super) fn needs_encoding(text: &str) -> bool {
    text.chars().any(|c| !(' '..='~').contains(&c))
        || text.contains("=?")
        || text.split(' ').any(|word| word.len() > LONGEST_PLAIN_WORD)
}

/// Folds printable ASCII before spaces so lines stay within 78 characters.
fn fold_plain(start_column: usize, value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    let mut column = start_column;
    for (index, word) in value.split(' ').enumerate() {
        if index > 0 {
            // Folding before an empty word would leave a whitespace-only line.
            if !word.is_empty() && column + 1 + word.len() > HEADER_LINE_LIMIT {
                out.push_str("\r\n");
                column = 0;
            }
            out.push(' ');
            column += 1;
        }
        out.push_str(word);
        column += word.len();
    }
    out
}

/// `text` as `Q`-encoded words (RFC 2047 §4.2, restricted to what is legal in a
/// phrase), folded so each line holds at most 76 characters; characters are
/// never split across words.
pub(super) fn encoded_words(start_column: usize, text: &str) -> String {
    let overhead = ENCODED_WORD_PREFIX.len() + ENCODED_WORD_SUFFIX.len();
    let mut out = String::with_capacity(text.len() * 3);
    let mut column = start_column;
    let mut payload = String::new();
    let mut token = String::with_capacity(12);
    for c in text.chars() {
        token.clear();
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '!' | '*' | '+' | '-' | '/' => token.push(c),
            ' ' => token.push('_'),
            _ => push_escaped(c, &mut token),
        }
        if !payload.is_empty() && column + overhead + payload.len() + token.len() > ENCODED_LINE_LIMIT {
            push_word(&payload, &mut out);
            out.push_str("\r\n ");
            column = 1;
            payload.clear();
        }
        payload.push_str(&token);
    }
    push_word(&payload, &mut out);
    out
}

fn push_word(payload: &str, out: &mut String) {
    out.push_str(ENCODED_WORD_PREFIX);
    out.push_str(payload);
    out.push_str(ENCODED_WORD_SUFFIX);
}

#[cfg(test)]
pub(super) mod decode {
    //! Decoders used by the tests to check that what we write reads back.

    /// Decodes a quoted-printable body (soft breaks removed, escapes resolved).
    pub(crate) fn quoted_printable(encoded: &str) -> String {
        let joined = encoded.replace("=\r\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut index = 0;
        while index < bytes.len() {
            if bytes[index] == b'=' {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                index += 3;
            } else {
                out.push(bytes[index]);
                index += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    /// Decodes an unfolded header value made of encoded-words and plain text.
    pub(crate) fn header_value(value: &str) -> String {
        let mut out = String::new();
        let mut rest = value;
        let mut previous_was_word = false;
        while !rest.is_empty() {
            let trimmed = rest.trim_start();
            if let Some(after) = trimmed.strip_prefix("=?UTF-8?Q?") {
                let end = after.find("?=").unwrap();
                // Whitespace between adjacent encoded-words is not part of the text.
                if !previous_was_word {
                    out.push_str(&rest[..rest.len() - trimmed.len()]);
                }
                let payload = after[..end].replace('_', " ");
                out.push_str(&quoted_printable(&payload));
                rest = &after[end + 2..];
                previous_was_word = true;
            } else {
                let next = rest[1..].find("=?UTF-8?Q?").map_or(rest.len(), |at| at + 1);
                out.push_str(&rest[..next]);
                rest = &rest[next..];
                previous_was_word = false;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(encoded: &str) -> Vec<&str> {
        encoded.split("\r\n").collect()
    }

    #[test]
    fn leaves_plain_ascii_alone() {
        assert_eq!(quoted_printable("Hello, world!"), "Hello, world!");
    }

    #[test]
    fn escapes_equals_non_ascii_and_control_bytes() {
        assert_eq!(quoted_printable("a=b"), "a=3Db");
        assert_eq!(quoted_printable("café"), "caf=C3=A9");
        assert_eq!(quoted_printable("bell\x07"), "bell=07");
        assert_eq!(quoted_printable("lone\rcr"), "lone=0Dcr");
    }

    #[test]
    fn encodes_whitespace_only_at_the_end_of_a_line() {
        assert_eq!(quoted_printable("a b \nc\t"), "a b=20\r\nc=09");
    }

    #[test]
    fn normalizes_line_breaks_to_crlf() {
        assert_eq!(quoted_printable("one\ntwo\r\nthree\n"), "one\r\ntwo\r\nthree\r\n");
    }

    #[test]
    fn soft_breaks_keep_lines_within_76_characters() {
        let text = "x".repeat(200);
        let encoded = quoted_printable(&text);
        for line in lines(&encoded) {
            assert!(line.len() <= QP_LINE_LIMIT, "{line}");
        }
        assert_eq!(lines(&encoded)[0].len(), 76);
        assert!(lines(&encoded)[0].ends_with('='));
        assert_eq!(decode::quoted_printable(&encoded), text);
    }

    #[test]
    fn a_line_of_exactly_76_characters_needs_no_soft_break() {
        let text = "y".repeat(76);
        assert_eq!(quoted_printable(&text), text);
        assert_eq!(lines(&quoted_printable(&"y".repeat(77))).len(), 2);
    }

    #[test]
    fn escapes_are_never_split_across_lines() {
        let text = format!("{}ééééé", "z".repeat(70));
        let encoded = quoted_printable(&text);
        for line in lines(&encoded) {
            assert!(line.len() <= QP_LINE_LIMIT);
            let body = line.strip_suffix('=').unwrap_or(line);
            assert!(
                body.len() < 2 || !body[body.len() - 2..].contains('='),
                "split escape in {line}"
            );
            // Every line holds whole characters: its escapes decode to valid UTF-8 on their own.
            decode::quoted_printable(body);
        }
        assert_eq!(decode::quoted_printable(&encoded), text);
    }

    #[test]
    fn round_trips_mixed_text() {
        let text =
            "Grüße aus Köln — ça va? 日本語 🎉\n\tindented = yes \n\nhttps://example.com/reset?token=abc%3D&x=1\n";
        let decoded = decode::quoted_printable(&quoted_printable(text));
        assert_eq!(decoded, text.replace('\n', "\r\n"));
    }

    #[test]
    fn plain_headers_stay_readable_and_fold_at_spaces() {
        assert_eq!(header("Subject", "Welcome aboard"), "Subject: Welcome aboard");
        let long = "word ".repeat(30);
        let long = long.trim_end();
        let folded = header("Subject", long);
        for line in lines(&folded) {
            assert!(line.len() <= HEADER_LINE_LIMIT, "{line}");
            assert!(!line.trim().is_empty());
        }
        assert!(lines(&folded).len() > 1);
        assert_eq!(folded.replace("\r\n", ""), format!("Subject: {long}"));
    }

    #[test]
    fn non_ascii_headers_become_encoded_words() {
        let subject = "Réinitialisez votre mot de passe — ça expire bientôt, 日本語のテキストも含みます";
        let encoded = header("Subject", subject);
        assert!(encoded.is_ascii());
        for line in lines(&encoded) {
            assert!(line.len() <= ENCODED_LINE_LIMIT, "{line}");
        }
        let value = encoded.strip_prefix("Subject: ").unwrap().replace("\r\n", "");
        assert_eq!(decode::header_value(&value), subject);
    }

    #[test]
    fn text_that_looks_encoded_or_cannot_fold_is_encoded() {
        assert!(needs_encoding("=?UTF-8?Q?x?="));
        assert!(needs_encoding(&"a".repeat(71)));
        assert!(needs_encoding("tab\there"));
        assert!(!needs_encoding("Plain subject: 100% ok!"));
        let long = "a".repeat(200);
        let value = header("Subject", &long)
            .strip_prefix("Subject: ")
            .unwrap()
            .replace("\r\n", "");
        assert_eq!(decode::header_value(&value), long);
    }

    #[test]
    fn encoded_words_escape_phrase_specials() {
        assert_eq!(encoded_words(0, "é_?=\"a b"), "=?UTF-8?Q?=C3=A9=5F=3F=3D=22a_b?=");
    }
}
