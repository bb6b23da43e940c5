//! Where secrets come from: files, Vault / OpenBao KV v2, AWS Secrets Manager.
//!
//! A secret's name is the configuration key it fills (`auth.jwt.secret`). A
//! refresh reads every key at once ([`SecretSource::get_many`]) and compares
//! the new [`SecretSet`] with the one it holds ([`SecretSet::changed_since`]),
//! so rotation touches only what changed.

use std::collections::BTreeMap;

use async_trait::async_trait;
use shaku::Interface;

use crate::BoxError;
use crate::model::SecretString;

/// What a secret source can fail with. Every variant but `Backend` names the
/// store (`vault http://vault:8200 secret/platform`) and the key, so start-up
/// can say exactly what is wrong without printing a value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// A required secret is in none of the store's locations.
    #[error("{store}: required secret `{key}` is missing")]
    Missing {
        /// The store that was asked.
        store: String,
        /// The configuration key.
        key: String,
    },
    /// The store holds the secret but it cannot be used (encoding, shape, file permissions).
    #[error("{store}: secret `{key}` cannot be read")]
    Unreadable {
        /// The store that was asked.
        store: String,
        /// The configuration key.
        key: String,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// The store refused our credentials (bad token, failed login, no permission).
    #[error("{store}: access to secret `{key}` was refused")]
    Denied {
        /// The store that was asked.
        store: String,
        /// The configuration key.
        key: String,
        /// The store's answer.
        #[source]
        source: BoxError,
    },
    /// The store did not answer, even after the bounded retry.
    #[error("{store}: unreachable while reading secret `{key}` (gave up after {attempts} attempts)")]
    Unreachable {
        /// The store that was asked.
        store: String,
        /// The configuration key (the first one of the read that failed).
        key: String,
        /// How many attempts were made.
        attempts: u32,
        /// The last failure.
        #[source]
        source: BoxError,
    },
    /// The backend failed in a way none of the above describes.
    #[error("secret backend failed")]
    Backend(#[source] BoxError),
}

/// One secret as read: its value and, when the store versions secrets, a
/// version label that is safe to log (`secret/platform@v4`, an AWS `VersionId`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretValue {
    /// The value.
    pub value: SecretString,
    /// The store's version of the secret, if it has one.
    pub version: Option<String>,
}

/// Secrets by configuration key, as one read of a source returned them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecretSet {
    entries: BTreeMap<String, SecretValue>,
}

impl SecretSet {
    /// An empty set.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a key.
    pub fn insert(&mut self, key: impl Into<String>, value: SecretValue) {
        self.entries.insert(key.into(), value);
    }

    /// The value of `key`, if the source has it.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&SecretString> {
        self.entries.get(key).map(|s| &s.value)
    }

    /// The value and version of `key`.
    #[must_use]
    pub fn entry(&self, key: &str) -> Option<&SecretValue> {
        self.entries.get(key)
    }

    /// Takes `key` out of the set.
    pub fn remove(&mut self, key: &str) -> Option<SecretValue> {
        self.entries.remove(key)
    }

    /// The value of `key`, or [`SecretError::Missing`] naming `store` and `key`.
    ///
    /// # Errors
    /// [`SecretError::Missing`] when the set has no `key`.
    pub fn require(&self, store: &str, key: &str) -> Result<&SecretString, SecretError> {
        self.get(key).ok_or_else(|| SecretError::Missing {
            store: store.to_owned(),
            key: key.to_owned(),
        })
    }

    /// The keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// How many keys the set holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the source had none of the keys asked for.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The keys added, removed or whose value changed since `previous`, sorted.
    /// Values are compared, not versions: a store that rewrites the same value
    /// as a new version changes nothing that needs rotating.
    #[must_use]
    pub fn changed_since<'a>(&'a self, previous: &'a SecretSet) -> Vec<&'a str> {
        let mut changed: Vec<&str> = self
            .entries
            .iter()
            .filter(|(key, now)| previous.get(key) != Some(&now.value))
            .map(|(key, _)| key.as_str())
            .collect();
        changed.extend(
            previous
                .keys()
                .filter(|key| !self.entries.contains_key(*key))
                .collect::<Vec<_>>(),
        );
        changed.sort_unstable();
        changed
    }
}

impl FromIterator<(String, SecretValue)> for SecretSet {
    fn from_iter<I: IntoIterator<Item = (String, SecretValue)>>(iter: I) -> Self {
        Self {
            entries: iter.into_iter().collect(),
        }
    }
}

/// Resolves secrets by configuration key (`auth.jwt.secret`).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait SecretSource: Interface {
    /// The source as messages and `config check` name it (`files`,
    /// `vault http://vault:8200 secret/platform`); never holds a credential.
    fn name(&self) -> &str;

    /// One secret, `None` when this source does not have it.
    ///
    /// # Errors
    /// [`SecretError::Unreadable`], [`SecretError::Denied`],
    /// [`SecretError::Unreachable`] (after the source's bounded retry),
    /// [`SecretError::Backend`].
    async fn get(&self, key: &str) -> Result<Option<SecretString>, SecretError>;

    /// Every key of `keys` the source has, read together (one round trip per
    /// store location rather than one per key); missing keys are left out.
    /// Keys are the configuration's own names, hence `'static`. The default
    /// asks [`SecretSource::get`] key by key.
    ///
    /// # Errors
    /// As [`SecretSource::get`]; the first failure stops the read.
    async fn get_many(&self, keys: &[&'static str]) -> Result<SecretSet, SecretError> {
        let mut set = SecretSet::new();
        for key in keys {
            if let Some(value) = self.get(key).await? {
                set.insert(*key, SecretValue { value, version: None });
            }
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(v: &str) -> SecretValue {
        SecretValue {
            value: SecretString::new(v),
            version: Some("v1".into()),
        }
    }

    #[test]
    fn changed_keys_are_the_added_removed_and_different_ones() {
        let before: SecretSet = [
            ("a".into(), value("1")),
            ("b".into(), value("2")),
            ("c".into(), value("3")),
        ]
        .into_iter()
        .collect();
        let mut after = before.clone();
        after.insert("b", value("20"));
        after.remove("c");
        after.insert("d", value("4"));
        // A new version holding the same value is not a change.
        after.insert(
            "a",
            SecretValue {
                version: Some("v2".into()),
                ..value("1")
            },
        );
        assert_eq!(after.changed_since(&before), ["b", "c", "d"]);
        assert!(before.changed_since(&before).is_empty());
    }

    #[test]
    fn require_names_the_store_and_key_and_debug_hides_values() {
        let set: SecretSet = [("a".into(), value("hunter2"))].into_iter().collect();
        assert_eq!(set.require("vault", "a").unwrap().expose(), "hunter2");
        let err = set.require("vault secret/app", "auth.jwt.secret").unwrap_err();
        assert_eq!(
            err.to_string(),
            "vault secret/app: required secret `auth.jwt.secret` is missing"
        );
        assert!(!format!("{set:?}").contains("hunter2"));
    }
}
