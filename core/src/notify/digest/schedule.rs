//! When digests go out: the cron schedule and the period each tick closes.

use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use serde::{Deserialize, Serialize};

/// The window a digest covers: posts published after `start`, up to and
/// including `end`. A tick's period ends at the tick's scheduled time (not
/// when it happens to run), so every run of one tick sees the same period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestPeriod {
    /// Exclusive start: the schedule's tick before `end`.
    pub start: DateTime<Utc>,
    /// Inclusive end: the tick.
    pub end: DateTime<Utc>,
}

impl DigestPeriod {
    /// A period from `start` (exclusive) to `end` (inclusive).
    ///
    /// # Errors
    /// A message when `start` is not before `end`.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self, String> {
        if start >= end {
            return Err(format!("a digest period must start before it ends ({start} >= {end})"));
        }
        Ok(Self { start, end })
    }
}

/// A parsed `digest.schedule`: five or six cron fields (seconds optional),
/// or a shorthand such as `@weekly`; UTC; weekdays as in POSIX cron, as the
/// schedulers read them.
#[derive(Clone, Debug)]
pub struct DigestSchedule {
    spec: String,
    cron: Cron,
}

impl DigestSchedule {
    /// Parses `spec`.
    ///
    /// # Errors
    /// A message saying why the expression is refused.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .build()
            .parse(spec)
            .map_err(|e| format!("invalid cron expression `{spec}`: {e}"))?;
        // Refuses patterns that never fire (the 30th of February).
        cron.find_next_occurrence(&Utc::now(), false)
            .map_err(|e| format!("cron expression `{spec}` never fires: {e}"))?;
        Ok(Self {
            spec: spec.to_owned(),
            cron,
        })
    }

    /// The expression as configured.
    #[must_use]
    pub fn spec(&self) -> &str {
        &self.spec
    }

    /// The period closed by the latest tick at or before `now`, from the
    /// tick before that one; `None` when the schedule has no such ticks.
    #[must_use]
    pub fn period_at(&self, now: DateTime<Utc>) -> Option<DigestPeriod> {
        let end = self.cron.find_previous_occurrence(&now, true).ok()?;
        let start = self.cron.find_previous_occurrence(&end, false).ok()?;
        DigestPeriod::new(start, end).ok()
    }
}
