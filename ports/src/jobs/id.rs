use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Identifies a job (an asynq task id): a random UUID unless the caller
/// chose one. Any non-blank text is accepted, because a task enqueued by
/// another asynq client may carry an id of its own choosing.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct JobId(String);

/// A job id that is empty or only whitespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a job id cannot be blank")]
pub struct BlankJobId;

impl JobId {
    /// A new random (v4) id, the form asynq's client generates.
    #[must_use]
    pub fn new() -> Self {
        Self(Uuid::new_v4().to_string())
    }

    /// A caller-chosen id.
    ///
    /// # Errors
    /// [`BlankJobId`] when `id` is empty or whitespace.
    pub fn parse(id: impl Into<String>) -> Result<Self, BlankJobId> {
        let id = id.into();
        if id.trim().is_empty() {
            return Err(BlankJobId);
        }
        Ok(Self(id))
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for JobId {
    fn default() -> Self {
        Self::new()
    }
}

impl FromStr for JobId {
    type Err = BlankJobId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for JobId {
    type Error = BlankJobId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<JobId> for String {
    fn from(id: JobId) -> Self {
        id.0
    }
}

impl From<Uuid> for JobId {
    fn from(id: Uuid) -> Self {
        Self(id.to_string())
    }
}

impl AsRef<str> for JobId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JobId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_ids_are_refused_and_others_kept_verbatim() {
        assert_eq!(JobId::parse(" \t"), Err(BlankJobId));
        assert_eq!(JobId::parse("order:42").unwrap().as_str(), "order:42");
        assert!(Uuid::parse_str(JobId::new().as_str()).is_ok());
        let json = serde_json::to_string(&JobId::parse("x").unwrap()).unwrap();
        assert_eq!(json, "\"x\"");
        assert!(serde_json::from_str::<JobId>("\"\"").is_err());
    }
}
