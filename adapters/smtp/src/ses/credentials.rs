//! The standard AWS credential chain, the parts that need no network:
//! explicit settings, then `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`
//! (`AWS_SESSION_TOKEN`), then the shared `credentials` and `config` files
//! of the profile (`AWS_PROFILE`, else `default`). The region comes from
//! settings, `AWS_REGION`, `AWS_DEFAULT_REGION` or the profile's `region`.

use std::collections::HashMap;
use std::path::PathBuf;

use platform_ports::model::SecretString;

/// Keys for signing, and where they came from.
#[derive(Clone, Debug)]
pub(crate) struct AwsCredentials {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: SecretString,
    pub(crate) session_token: Option<SecretString>,
    pub(crate) source: String,
}

/// Reads an environment variable (the process environment, or a map in tests).
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, blanks read as unset.
pub(crate) fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Where credentials are looked for, in order.
#[derive(Clone, Debug, Default)]
pub(crate) struct CredentialChain {
    /// Keys given in the settings (`mail.ses.access_key_id`...), tried first.
    pub(crate) explicit: Option<AwsCredentials>,
    /// The profile for the shared files; `None`: `AWS_PROFILE`, else `default`.
    pub(crate) profile: Option<String>,
}

impl CredentialChain {
    /// The first credentials found.
    ///
    /// # Errors
    /// A message listing what was tried, or naming the unreadable file.
    pub(crate) fn resolve(&self, env: Env<'_>) -> Result<AwsCredentials, String> {
        if let Some(explicit) = &self.explicit {
            return Ok(explicit.clone());
        }
        if let (Some(id), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
            return Ok(AwsCredentials {
                access_key_id: id,
                secret_access_key: SecretString::new(secret),
                session_token: env("AWS_SESSION_TOKEN").map(SecretString::new),
                source: "environment".into(),
            });
        }
        let profile = self.profile(env);
        for (path, section) in self.files(env, &profile) {
            let Some(values) = read_section(&path, &section)? else {
                continue;
            };
            if let (Some(id), Some(secret)) = (values.get("aws_access_key_id"), values.get("aws_secret_access_key")) {
                return Ok(AwsCredentials {
                    access_key_id: id.clone(),
                    secret_access_key: SecretString::new(secret.clone()),
                    session_token: values.get("aws_session_token").cloned().map(SecretString::new),
                    source: format!("profile `{profile}` in {}", path.display()),
                });
            }
        }
        Err(format!(
            "no AWS credentials: set mail.ses.access_key_id and mail.ses.secret_access_key, \
             AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or profile `{profile}` in the shared credentials file"
        ))
    }

    /// The region from `AWS_REGION`, `AWS_DEFAULT_REGION` or the profile's config.
    ///
    /// # Errors
    /// When the config file exists but cannot be read.
    pub(crate) fn region(&self, env: Env<'_>) -> Result<Option<String>, String> {
        if let Some(region) = env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")) {
            return Ok(Some(region));
        }
        let profile = self.profile(env);
        let (path, section) = config_file(env, &profile);
        Ok(read_section(&path, &section)?.and_then(|mut values| values.remove("region")))
    }

    fn profile(&self, env: Env<'_>) -> String {
        self.profile
            .clone()
            .filter(|p| !p.is_empty())
            .or_else(|| env("AWS_PROFILE"))
            .unwrap_or_else(|| "default".into())
    }

    /// The credentials file's section, then the config file's.
    fn files(&self, env: Env<'_>, profile: &str) -> [(PathBuf, String); 2] {
        let credentials = env("AWS_SHARED_CREDENTIALS_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|| home(env).join(".aws").join("credentials"));
        [(credentials, profile.to_owned()), config_file(env, profile)]
    }
}

/// The config file and the section naming `profile` there (`[profile x]`, but `[default]`).
fn config_file(env: Env<'_>, profile: &str) -> (PathBuf, String) {
    let path = env("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| home(env).join(".aws").join("config"));
    let section = if profile == "default" {
        "default".to_owned()
    } else {
        format!("profile {profile}")
    };
    (path, section)
}

fn home(env: Env<'_>) -> PathBuf {
    env("HOME")
        .or_else(|| env("USERPROFILE"))
        .map_or_else(PathBuf::new, PathBuf::from)
}

/// The `key = value` pairs of `[section]` in an INI file; `None` when the
/// file or the section is absent.
fn read_section(path: &std::path::Path, section: &str) -> Result<Option<HashMap<String, String>>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read `{}`: {e}", path.display())),
    };
    Ok(parse_section(&text, section))
}

fn parse_section(text: &str, section: &str) -> Option<HashMap<String, String>> {
    let mut found: Option<HashMap<String, String>> = None;
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.split_whitespace().collect::<Vec<_>>().join(" ") == section;
            if inside {
                found.get_or_insert_with(HashMap::new);
            }
        } else if inside && let (Some((key, value)), Some(values)) = (line.split_once('='), found.as_mut()) {
            values.insert(key.trim().to_lowercase(), value.trim().to_owned());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn explicit_keys_come_first_then_the_environment() {
        let env = env_of(&[
            ("AWS_ACCESS_KEY_ID", "AKENV"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("AWS_SESSION_TOKEN", "t"),
        ]);
        let chain = CredentialChain::default();
        let found = chain.resolve(&env).unwrap();
        assert_eq!(
            (found.access_key_id.as_str(), found.source.as_str()),
            ("AKENV", "environment")
        );
        assert_eq!(found.session_token.unwrap().expose(), "t");
        let chain = CredentialChain {
            explicit: Some(AwsCredentials {
                access_key_id: "AKSET".into(),
                secret_access_key: SecretString::new("x"),
                session_token: None,
                source: "settings".into(),
            }),
            profile: None,
        };
        assert_eq!(chain.resolve(&env).unwrap().access_key_id, "AKSET");
    }

    #[test]
    fn the_shared_files_serve_the_selected_profile() {
        let dir = tempfile::tempdir().unwrap();
        let credentials = dir.path().join("credentials");
        std::fs::write(
            &credentials,
            "[default]\naws_access_key_id = AKDEFAULT\naws_secret_access_key = d\n\n# comment\n[mail]\nAWS_ACCESS_KEY_ID=AKMAIL\naws_secret_access_key = m\n",
        )
        .unwrap();
        let config = dir.path().join("config");
        std::fs::write(
            &config,
            "[default]\nregion = eu-west-1\n[profile other]\nregion = us-west-2\naws_access_key_id = AKOTHER\naws_secret_access_key = o\n",
        )
        .unwrap();
        let (c, f) = (credentials.to_str().unwrap(), config.to_str().unwrap());
        let env = env_of(&[("AWS_SHARED_CREDENTIALS_FILE", c), ("AWS_CONFIG_FILE", f)]);
        let chain = CredentialChain::default();
        assert_eq!(chain.resolve(&env).unwrap().access_key_id, "AKDEFAULT");
        assert_eq!(chain.region(&env).unwrap().as_deref(), Some("eu-west-1"));
        let mail = CredentialChain {
            profile: Some("mail".into()),
            ..CredentialChain::default()
        };
        let found = mail.resolve(&env).unwrap();
        assert_eq!(found.access_key_id, "AKMAIL");
        assert!(found.source.contains("profile `mail`"), "{}", found.source);
        let env = env_of(&[
            ("AWS_SHARED_CREDENTIALS_FILE", c),
            ("AWS_CONFIG_FILE", f),
            ("AWS_PROFILE", "other"),
        ]);
        assert_eq!(chain.resolve(&env).unwrap().access_key_id, "AKOTHER");
        assert_eq!(chain.region(&env).unwrap().as_deref(), Some("us-west-2"));
    }

    #[test]
    fn nothing_found_says_what_was_tried() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().to_str().unwrap();
        let err = CredentialChain::default()
            .resolve(&env_of(&[("HOME", home)]))
            .unwrap_err();
        assert!(
            err.contains("AWS_ACCESS_KEY_ID") && err.contains("profile `default`"),
            "{err}"
        );
        assert_eq!(
            CredentialChain::default().region(&env_of(&[("HOME", home)])).unwrap(),
            None
        );
    }
}
