//! A store's JSON object as configuration keys: nested objects join their
//! names with dots under an optional prefix.

use std::collections::BTreeMap;

use platform_ports::model::SecretString;
use platform_ports::secrets::{SecretSet, SecretValue};
use serde_json::Value;

/// Adds to `set` the fields of `object` (under `prefix`) that `keys` asks
/// for, each with the location's `version`.
pub(crate) fn insert_wanted(
    set: &mut SecretSet,
    keys: &[&str],
    prefix: Option<&str>,
    object: &serde_json::Map<String, Value>,
    version: Option<&str>,
) {
    let mut flat = BTreeMap::new();
    flatten_into(&mut flat, prefix, object);
    for (key, value) in flat.into_iter().filter(|(k, _)| keys.contains(&k.as_str())) {
        let value = SecretValue {
            value: SecretString::new(value),
            version: version.map(str::to_owned),
        };
        set.insert(key, value);
    }
}

/// Adds every field of `object` to `out` as `prefix.field` (`field` without a
/// prefix). Strings stay as they are, numbers and booleans become their text,
/// arrays their JSON text, and nulls are left out.
pub(crate) fn flatten_into(
    out: &mut BTreeMap<String, String>,
    prefix: Option<&str>,
    object: &serde_json::Map<String, Value>,
) {
    for (field, value) in object {
        let key = match prefix {
            Some(prefix) if !prefix.is_empty() => format!("{prefix}.{field}"),
            _ => field.clone(),
        };
        match value {
            Value::Null => {}
            Value::String(text) => {
                out.insert(key, text.clone());
            }
            Value::Object(inner) => flatten_into(out, Some(&key), inner),
            Value::Bool(_) | Value::Number(_) | Value::Array(_) => {
                out.insert(key, value.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn dotted_and_nested_fields_fill_the_same_keys() {
        let object = json!({
            "auth.jwt.secret": "flat",
            "auth": {"refresh_token_key": "nested", "jwt": {"ttl": 900}},
            "dsn": "postgres://x",
            "unset": null,
            "list": ["a", 1],
        });
        let mut out = BTreeMap::new();
        flatten_into(&mut out, None, object.as_object().unwrap());
        flatten_into(&mut out, Some("database"), json!({"dsn": "pg"}).as_object().unwrap());
        let pairs: Vec<(&str, &str)> = out.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("auth.jwt.secret", "flat"),
                ("auth.jwt.ttl", "900"),
                ("auth.refresh_token_key", "nested"),
                ("database.dsn", "pg"),
                ("dsn", "postgres://x"),
                ("list", "[\"a\",1]"),
            ]
        );
    }
}
