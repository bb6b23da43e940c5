//! Layered, typed, validated configuration.
//!
//! Order (later wins): the `default.yaml` compiled into the binary, then
//! `{dir}/default.yaml`, then `{dir}/{environment}.yaml` (environment from
//! `PLATFORM_ENV`, default `development`), then `PLATFORM__SECTION__KEY`
//! environment variables, then secrets from the configured [`SecretSource`].
//! Anything that does not parse or validate is an error naming its key.

mod provider;
mod settings;
mod sources;
mod validate;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use config::{Config, File, FileFormat};
use platform_ports::model::SecretString;
use platform_ports::secrets::{SecretSet, SecretSource};

pub use provider::ConfigProvider;
pub use settings::*;
pub use sources::*;

/// The defaults, compiled in so the binary starts even without a config directory.
const EMBEDDED_DEFAULT: &str = include_str!("../../../config/default.yaml");

/// Environment variables read for overrides start with this, then `__`.
pub const ENV_PREFIX: &str = "PLATFORM";

/// A configuration error that names the offending key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The key (`server.port`), when one is to blame.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    /// An error about `key`.
    pub fn at(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: Some(key.into()),
            message: message.into(),
        }
    }

    fn from_config(err: config::ConfigError) -> Self {
        // config-rs puts the key inside its message ("... for key `server.port`");
        // lift it out so callers (and tests) can rely on the field.
        let message = err.to_string();
        let key = message
            .split_once("for key `")
            .and_then(|(_, rest)| rest.split_once('`'))
            .map(|(k, _)| k.to_owned())
            .or_else(|| {
                message
                    .split_once("for key \"")
                    .and_then(|(_, rest)| rest.split_once('"'))
                    .map(|(k, _)| k.to_owned())
            });
        Self { key, message }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) if !self.message.contains(key.as_str()) => {
                write!(f, "{key}: {}", self.message)
            }
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Where to load from; every field defaults to the process's own view.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// The directory holding `default.yaml` and `{env}.yaml`; default: `PLATFORM_CONFIG_DIR`,
    /// else the nearest `config/` directory from the working directory upwards.
    pub config_dir: Option<PathBuf>,
    /// The environment; default `PLATFORM_ENV`, else development.
    pub environment: Option<Environment>,
    /// Override variables instead of the process environment (tests).
    pub vars: Option<HashMap<String, String>>,
}

/// Loaded configuration: typed settings plus the raw tree for modules'
/// own keys.
#[derive(Clone, Debug)]
pub struct LoadedConfig {
    /// The typed, validated settings (secrets not yet applied).
    pub settings: Settings,
    /// Raw access by key.
    pub provider: ConfigProvider,
    /// The directory files were read from, if any.
    pub config_dir: Option<PathBuf>,
    /// Where each key's value came from: `default`, `file`, `env` or
    /// `secrets:<store>` (never the value).
    pub layers: BTreeMap<String, String>,
}

fn var(opts: &LoadOptions, name: &str) -> Option<String> {
    match &opts.vars {
        Some(vars) => vars.get(name).cloned(),
        None => std::env::var(name).ok(),
    }
}

/// Finds `config/` from the working directory upwards.
fn find_config_dir() -> Option<PathBuf> {
    let mut dir = std::env::current_dir().ok()?;
    loop {
        let candidate = dir.join("config");
        if candidate.join("default.yaml").is_file() {
            return Some(candidate);
        }
        if !dir.pop() {
            return None;
        }
    }
}

/// Loads and validates the configuration (everything but secrets).
///
/// # Errors
/// A [`ConfigError`] naming the key that does not parse or validate.
pub fn load(opts: &LoadOptions) -> Result<LoadedConfig, ConfigError> {
    let environment = match opts.environment {
        Some(env) => env,
        None => match var(opts, "PLATFORM_ENV") {
            Some(name) => Environment::parse(name.trim()).ok_or_else(|| {
                ConfigError::at(
                    "environment",
                    format!("PLATFORM_ENV=`{name}` is not development, test or production"),
                )
            })?,
            None => Environment::Development,
        },
    };
    let config_dir = opts
        .config_dir
        .clone()
        .or_else(|| var(opts, "PLATFORM_CONFIG_DIR").map(PathBuf::from))
        .or_else(find_config_dir);

    let mut builder = Config::builder().add_source(File::from_str(EMBEDDED_DEFAULT, FileFormat::Yaml));
    if let Some(dir) = &config_dir {
        builder = builder
            .add_source(File::from(dir.join("default.yaml")).required(false))
            .add_source(File::from(dir.join(format!("{}.yaml", environment.as_str()))).required(false));
    }
    let mut env_source = config::Environment::with_prefix(ENV_PREFIX)
        .prefix_separator("__")
        .separator("__")
        // Values stay strings until a typed field asks for a number or a
        // bool (the config crate converts then): parsing every value up
        // front would turn `+15550000001` or a password `0123` into numbers
        // and write them back without the `+` or the leading zero.
        .try_parsing(false);
    if let Some(vars) = &opts.vars {
        env_source = env_source.source(Some(vars.clone().into_iter().collect()));
    }
    let raw = builder
        .add_source(env_source)
        .set_override("environment", environment.as_str())
        .map_err(ConfigError::from_config)?
        .build()
        .map_err(ConfigError::from_config)?;
    let settings: Settings = raw.clone().try_deserialize().map_err(ConfigError::from_config)?;
    // A remote store fills its secrets in after this: their rules are
    // checked once it has (`apply_secret_layers`).
    let remote = settings.secrets.source.iter().any(|s| *s != SecretSourceKind::Files);
    let pending = if remote { secret_keys() } else { Vec::new() };
    validate::validate_except(&settings, &pending)?;
    let mut layers = BTreeMap::new();
    if let Ok(table) = config::Source::collect(&raw) {
        for (key, value) in table {
            collect_layers(&key, value, &mut layers);
        }
    }
    Ok(LoadedConfig {
        settings,
        provider: ConfigProvider::new(raw),
        config_dir,
        layers,
    })
}

/// Records the layer of every leaf under `key`. config-rs keeps, on each
/// value, the source it came from; the embedded defaults have none.
fn collect_layers(key: &str, value: config::Value, layers: &mut BTreeMap<String, String>) {
    let origin = value.origin().map(str::to_owned);
    match value.kind {
        config::ValueKind::Table(table) if !table.is_empty() => {
            for (child, value) in table {
                collect_layers(&format!("{key}.{child}"), value, layers);
            }
        }
        _ => {
            let layer = match origin.as_deref() {
                None => "default",
                Some("the environment") => "env",
                Some(path) if path.ends_with("default.yaml") => "default",
                Some(_) => "file",
            };
            layers.insert(key.to_owned(), layer.to_owned());
        }
    }
}

/// The secret-bearing keys, each with where it lands in [`Settings`].
type SecretSlot = (&'static str, fn(&mut Settings) -> &mut SecretString);

const SECRET_KEYS: &[SecretSlot] = &[
    ("database.dsn", |s| &mut s.database.dsn),
    ("database.migrations_dsn", |s| &mut s.database.migrations_dsn),
    ("redis.url", |s| &mut s.redis.url),
    ("scheduler.redis_url", |s| &mut s.scheduler.redis_url),
    ("auth.jwt.secret", |s| &mut s.auth.jwt.secret),
    ("auth.refresh_token_key", |s| &mut s.auth.refresh_token_key),
    ("audit.checkpoint_key", |s| &mut s.audit.checkpoint_key),
    ("admin.password", |s| &mut s.admin.password),
    ("blob.signing_key", |s| &mut s.blob.signing_key),
    ("blob.s3.access_key", |s| &mut s.blob.s3.access_key),
    ("blob.s3.secret_key", |s| &mut s.blob.s3.secret_key),
    ("mail.smtp.password", |s| &mut s.mail.smtp.password),
    ("mail.ses.secret_access_key", |s| &mut s.mail.ses.secret_access_key),
    ("sms.twilio.auth_token", |s| &mut s.sms.twilio.auth_token),
    ("push.fcm.service_account_json", |s| {
        &mut s.push.fcm.service_account_json
    }),
    ("push.apns.key_pem", |s| &mut s.push.apns.key_pem),
    ("kafka.security.sasl_password", |s| &mut s.kafka.security.sasl_password),
    ("error_bus.sentry.dsn", |s| &mut s.error_bus.sentry.dsn),
];

/// Every key a secret store may fill.
#[must_use]
pub fn secret_keys() -> Vec<&'static str> {
    SECRET_KEYS.iter().map(|(key, _)| *key).collect()
}

/// Applies one read of the stores (in order, later wins) as the last layer,
/// records `secrets:<store>` as the layer of each key it filled, checks that
/// every `secrets.required` key was found, and re-validates.
///
/// # Errors
/// A [`ConfigError`] naming a required key no store has (and the stores
/// asked), or the key whose value does not validate.
pub fn apply_secret_layers(
    loaded: &mut LoadedConfig,
    layers: Vec<(SecretSourceKind, SecretSet)>,
) -> Result<(), ConfigError> {
    let mut found = std::collections::BTreeSet::new();
    for (kind, set) in &layers {
        for (key, slot) in SECRET_KEYS {
            if let Some(value) = set.get(key) {
                *slot(&mut loaded.settings) = value.clone();
                loaded
                    .layers
                    .insert((*key).to_owned(), format!("secrets:{}", kind.as_str()));
                found.insert(*key);
            }
        }
    }
    let stores: Vec<&str> = layers.iter().map(|(kind, _)| kind.as_str()).collect();
    for key in &loaded.settings.secrets.required {
        if !SECRET_KEYS.iter().any(|(k, _)| k == key) {
            return Err(ConfigError::at(
                "secrets.required",
                format!("`{key}` is not a secret key (one of {})", secret_keys().join(", ")),
            ));
        }
        if !found.contains(key.as_str()) {
            return Err(ConfigError::at(
                key.clone(),
                format!(
                    "required secret `{key}` is missing from secrets.source {}",
                    stores.join(", ")
                ),
            ));
        }
    }
    validate::validate(&loaded.settings)
}

/// Applies secrets (the last layer) and re-validates.
///
/// # Errors
/// A [`ConfigError`] naming the key whose secret cannot be read or is invalid.
pub async fn apply_secrets(settings: &mut Settings, source: &dyn SecretSource) -> Result<(), ConfigError> {
    for (key, slot) in SECRET_KEYS {
        match source.get(key).await {
            Ok(Some(value)) => *slot(settings) = value,
            Ok(None) => {}
            Err(err) => {
                return Err(ConfigError::at(*key, format!("secret cannot be read: {err}")));
            }
        }
    }
    validate::validate(settings)
}

/// Path helper for messages.
#[must_use]
pub fn display_dir(dir: Option<&Path>) -> String {
    dir.map_or_else(|| "(embedded defaults only)".to_owned(), |d| d.display().to_string())
}

#[cfg(test)]
mod tests;
