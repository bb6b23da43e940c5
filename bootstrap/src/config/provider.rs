//! The seed's `ConfigProvider`: raw access by key for modules that read their own keys.

use std::time::Duration;

use config::Config;
use serde::de::DeserializeOwned;

use super::ConfigError;

/// Reads configuration values by dotted key (`server.port`).
#[derive(Clone, Debug)]
pub struct ConfigProvider {
    inner: Config,
}

impl ConfigProvider {
    /// Wraps a built configuration.
    #[must_use]
    pub fn new(inner: Config) -> Self {
        Self { inner }
    }

    fn get<T: DeserializeOwned>(&self, key: &str) -> Result<T, ConfigError> {
        self.inner
            .get::<T>(key)
            .map_err(|e| ConfigError::at(key, e.to_string()))
    }

    /// The value at `key` as JSON, `None` when unset.
    #[must_use]
    pub fn get_value(&self, key: &str) -> Option<serde_json::Value> {
        self.inner.get::<serde_json::Value>(key).ok()
    }

    /// A string.
    ///
    /// # Errors
    /// When unset or not a string.
    pub fn get_string(&self, key: &str) -> Result<String, ConfigError> {
        self.get(key)
    }

    /// An integer.
    ///
    /// # Errors
    /// When unset or not an integer.
    pub fn get_int(&self, key: &str) -> Result<i64, ConfigError> {
        self.get(key)
    }

    /// A boolean.
    ///
    /// # Errors
    /// When unset or not a boolean.
    pub fn get_bool(&self, key: &str) -> Result<bool, ConfigError> {
        self.get(key)
    }

    /// A list of strings.
    ///
    /// # Errors
    /// When unset or not a list of strings.
    pub fn get_string_slice(&self, key: &str) -> Result<Vec<String>, ConfigError> {
        self.get(key)
    }

    /// A duration written as `30s`, `5m`, `1h 30m` (or a bare number of seconds).
    ///
    /// # Errors
    /// When unset or not a duration.
    pub fn get_duration(&self, key: &str) -> Result<Duration, ConfigError> {
        let raw: String = self.get(key)?;
        if let Ok(secs) = raw.trim().parse::<u64>() {
            return Ok(Duration::from_secs(secs));
        }
        humantime::parse_duration(raw.trim())
            .map_err(|e| ConfigError::at(key, format!("`{raw}` is not a duration: {e}")))
    }

    /// Whether `key` has a value.
    #[must_use]
    pub fn is_set(&self, key: &str) -> bool {
        self.inner.get::<config::Value>(key).is_ok()
    }

    /// Deserializes the section at `key` (the whole tree for `""`).
    ///
    /// # Errors
    /// When the section does not fit `T`; the message names the key.
    pub fn unmarshal<T: DeserializeOwned>(&self, key: &str) -> Result<T, ConfigError> {
        if key.is_empty() {
            return self
                .inner
                .clone()
                .try_deserialize()
                .map_err(|e| ConfigError::at("", e.to_string()));
        }
        self.get(key)
    }
}
