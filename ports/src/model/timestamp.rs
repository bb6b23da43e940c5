//! Timestamps on the wire and in log lines: RFC 3339 in UTC with exactly six
//! fractional digits (`2026-11-24T05:28:27.813681Z`), the precision the
//! platform stores (see `SystemClock`).
//!
//! Written digit by digit into a stack buffer because chrono's formatter
//! goes through `core::fmt` for every field: on a request answering a post
//! (three timestamps) plus its access line, that was several per cent of the
//! request's CPU. Years outside 0000–9999, which RFC 3339 cannot express in
//! this form, fall back to chrono.

use std::fmt;

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::Serializer;

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`
const LEN: usize = 27;

/// A formatted timestamp; see the module docs. `Display` and [`Self::as_str`].
#[derive(Clone)]
pub struct Rfc3339Micros(Repr);

#[derive(Clone)]
enum Repr {
    Fixed([u8; LEN]),
    Other(String),
}

impl Rfc3339Micros {
    /// Formats `at`, truncating to whole microseconds.
    #[must_use]
    pub fn new(at: &DateTime<Utc>) -> Self {
        // The naive value once: each accessor on `DateTime` re-applies the offset.
        let at = at.naive_utc();
        let year = at.year();
        let Ok(year) = u32::try_from(year) else {
            return Self(Repr::Other(fallback(&at.and_utc())));
        };
        if year > 9999 {
            return Self(Repr::Other(fallback(&at.and_utc())));
        }
        // A leap second is reported as nanosecond >= 1e9; keep it in the fraction's range.
        let micros = (at.nanosecond() % 1_000_000_000) / 1_000;
        let mut buf = *b"0000-00-00T00:00:00.000000Z";
        put(&mut buf[0..4], year);
        put(&mut buf[5..7], at.month());
        put(&mut buf[8..10], at.day());
        put(&mut buf[11..13], at.hour());
        put(&mut buf[14..16], at.minute());
        put(&mut buf[17..19], at.second());
        put(&mut buf[20..26], micros);
        Self(Repr::Fixed(buf))
    }

    /// The formatted text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Only ASCII digits and separators are ever written into the buffer.
            Repr::Fixed(buf) => std::str::from_utf8(buf).unwrap_or_default(),
            Repr::Other(text) => text,
        }
    }
}

impl fmt::Display for Rfc3339Micros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Rfc3339Micros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Writes `value`'s last `out.len()` decimal digits, zero-padded.
fn put(out: &mut [u8], mut value: u32) {
    for digit in out.iter_mut().rev() {
        // `value % 10` is below 10, so the narrowing cannot lose anything.
        *digit = b'0' + u8::try_from(value % 10).unwrap_or(0);
        value /= 10;
    }
}

fn fallback(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// `#[serde(serialize_with = "rfc3339_micros")]` for `DateTime<Utc>` fields.
///
/// # Errors
/// Only the serializer's own.
pub fn rfc3339_micros<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(Rfc3339Micros::new(at).as_str())
}

/// [`rfc3339_micros`] for `Option<DateTime<Utc>>` fields (`None` is `null`).
///
/// # Errors
/// Only the serializer's own.
#[allow(clippy::ref_option, reason = "serde's serialize_with passes &Option<T>")]
pub fn rfc3339_micros_opt<S: Serializer>(at: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => rfc3339_micros(at, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone};

    use super::*;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, nanos: u32) -> DateTime<Utc> {
        Utc.from_utc_datetime(
            &NaiveDate::from_ymd_opt(y, mo, d)
                .unwrap()
                .and_hms_nano_opt(h, mi, s, nanos)
                .unwrap(),
        )
    }

    #[test]
    fn matches_chrono_with_six_digits() {
        for t in [
            at(2026, 11, 24, 5, 28, 27, 813_681_000),
            at(1970, 1, 1, 0, 0, 0, 0),
            at(9999, 12, 31, 23, 59, 59, 999_999_999),
            at(2024, 2, 29, 12, 0, 0, 1_000),
            at(33, 7, 4, 9, 8, 7, 123_456_789),
        ] {
            assert_eq!(Rfc3339Micros::new(&t).as_str(), fallback(&t), "{t:?}");
        }
    }

    #[test]
    fn leap_second_stays_in_range() {
        let t = at(2016, 12, 31, 23, 59, 59, 1_500_000_000);
        assert_eq!(Rfc3339Micros::new(&t).as_str(), "2016-12-31T23:59:59.500000Z");
    }

    #[test]
    fn years_beyond_four_digits_fall_back_to_chrono() {
        let t = at(10_000, 1, 1, 0, 0, 0, 0);
        assert_eq!(Rfc3339Micros::new(&t).to_string(), fallback(&t));
        let t = at(-1, 1, 1, 0, 0, 0, 0);
        assert_eq!(Rfc3339Micros::new(&t).to_string(), fallback(&t));
    }

    #[test]
    fn serializes_as_a_json_string_and_parses_back() {
        #[derive(serde::Serialize)]
        struct Row {
            #[serde(serialize_with = "rfc3339_micros")]
            at: DateTime<Utc>,
            #[serde(serialize_with = "rfc3339_micros_opt")]
            maybe: Option<DateTime<Utc>>,
        }
        let t = at(2026, 1, 2, 3, 4, 5, 6_000);
        let json = serde_json::to_string(&Row { at: t, maybe: None }).unwrap();
        assert_eq!(json, r#"{"at":"2026-01-02T03:04:05.000006Z","maybe":null}"#);
        let back: DateTime<Utc> = "2026-01-02T03:04:05.000006Z".parse().unwrap();
        assert_eq!(back, t);
    }
}
