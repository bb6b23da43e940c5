//! The standard AWS credential chain, as far as a secret source needs it:
//! environment variables, then the profile in the shared credentials file,
//! then the same profile in the shared config file.

use std::collections::HashMap;
use std::path::PathBuf;

use platform_ports::model::SecretString;

use super::AwsError;
use super::profile::{self, FileKind, Profile};

/// Credentials to sign with; the secret parts never print.
#[derive(Clone, Debug)]
pub struct AwsCredentials {
    /// `AKIA…` / `ASIA…`.
    pub access_key_id: String,
    /// The secret key.
    pub secret_access_key: SecretString,
    /// The session token of temporary credentials.
    pub session_token: Option<SecretString>,
    /// Where they were found (`environment`, `profile ci in ~/.aws/credentials`).
    pub origin: String,
}

/// Finds credentials and the region the way the AWS SDKs do: `AWS_ACCESS_KEY_ID`
/// / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, then the profile
/// (`AWS_PROFILE`, else `default`) in `AWS_SHARED_CREDENTIALS_FILE`
/// (`~/.aws/credentials`) and `AWS_CONFIG_FILE` (`~/.aws/config`).
/// Files are read on every resolution, so credentials that tooling rewrites
/// are picked up.
#[derive(Clone, Debug, Default)]
pub struct AwsCredentialsChain {
    vars: Option<HashMap<String, String>>,
    profile: Option<String>,
}

impl AwsCredentialsChain {
    /// The chain over the process environment.
    #[must_use]
    pub fn from_env() -> Self {
        Self::default()
    }

    /// The chain over `vars` instead of the process environment (tests).
    #[must_use]
    pub fn with_vars(vars: HashMap<String, String>) -> Self {
        Self {
            vars: Some(vars),
            profile: None,
        }
    }

    /// Uses `profile` instead of `AWS_PROFILE` / `default`.
    #[must_use]
    pub fn with_profile(mut self, profile: Option<String>) -> Self {
        self.profile = profile.filter(|p| !p.is_empty());
        self
    }

    fn var(&self, name: &str) -> Option<String> {
        let value = match &self.vars {
            Some(vars) => vars.get(name).cloned(),
            None => std::env::var(name).ok(),
        };
        value.filter(|v| !v.is_empty())
    }

    /// The profile's name and whether someone chose it (then it must exist).
    fn profile_name(&self) -> (String, bool) {
        match self.profile.clone().or_else(|| self.var("AWS_PROFILE")) {
            Some(name) => (name, true),
            None => ("default".to_owned(), false),
        }
    }

    fn file(&self, var: &str, default: &str) -> Option<PathBuf> {
        self.var(var).map(PathBuf::from).or_else(|| {
            self.var("HOME")
                .map(|home| PathBuf::from(home).join(".aws").join(default))
        })
    }

    /// The profile from one of the shared files, `None` when the file or profile is absent.
    fn load(&self, kind: FileKind, name: &str) -> Result<Option<(Profile, PathBuf)>, AwsError> {
        let path = match kind {
            FileKind::Credentials => self.file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
            FileKind::Config => self.file("AWS_CONFIG_FILE", "config"),
        };
        let Some(path) = path else { return Ok(None) };
        // Small local files read at start-up and on refresh: a blocking read is fine.
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => {
                return Err(AwsError::Credentials(format!("cannot read {}: {err}", path.display())));
            }
        };
        Ok(profile::find(&text, kind, name).map(|p| (p, path)))
    }

    /// The region: `AWS_REGION`, `AWS_DEFAULT_REGION`, then the profile's `region`.
    #[must_use]
    pub fn region(&self) -> Option<String> {
        if let Some(region) = self.var("AWS_REGION").or_else(|| self.var("AWS_DEFAULT_REGION")) {
            return Some(region);
        }
        let (name, _) = self.profile_name();
        let (profile, _) = self.load(FileKind::Config, &name).ok().flatten()?;
        profile.get("region").filter(|r| !r.is_empty()).cloned()
    }

    /// The first credentials the chain finds.
    ///
    /// # Errors
    /// [`AwsError::Credentials`] when none are found, a file cannot be read,
    /// or a chosen profile does not exist.
    pub fn resolve(&self) -> Result<AwsCredentials, AwsError> {
        if let Some(access_key_id) = self.var("AWS_ACCESS_KEY_ID") {
            let secret = self.var("AWS_SECRET_ACCESS_KEY").ok_or_else(|| {
                AwsError::Credentials("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not".to_owned())
            })?;
            return Ok(AwsCredentials {
                access_key_id,
                secret_access_key: SecretString::new(secret),
                session_token: self.var("AWS_SESSION_TOKEN").map(SecretString::new),
                origin: "environment".to_owned(),
            });
        }
        let (name, chosen) = self.profile_name();
        let mut seen = false;
        // The credentials file wins over the config file for the same profile.
        for kind in [FileKind::Credentials, FileKind::Config] {
            let Some((profile, path)) = self.load(kind, &name)? else {
                continue;
            };
            seen = true;
            if let Some(credentials) = from_profile(&profile, &name, &path)? {
                return Ok(credentials);
            }
        }
        Err(AwsError::Credentials(if chosen && !seen {
            format!("profile `{name}` is in neither the shared credentials nor the config file")
        } else {
            format!(
                "none found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or keys for profile `{name}` in ~/.aws/credentials"
            )
        }))
    }
}

fn from_profile(profile: &Profile, name: &str, path: &std::path::Path) -> Result<Option<AwsCredentials>, AwsError> {
    let Some(access_key_id) = profile.get("aws_access_key_id").filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let secret = profile
        .get("aws_secret_access_key")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            AwsError::Credentials(format!(
                "profile `{name}` in {} has aws_access_key_id but no aws_secret_access_key",
                path.display()
            ))
        })?;
    Ok(Some(AwsCredentials {
        access_key_id: access_key_id.clone(),
        secret_access_key: SecretString::new(secret.clone()),
        session_token: profile
            .get("aws_session_token")
            .filter(|v| !v.is_empty())
            .map(|t| SecretString::new(t.clone())),
        origin: format!("profile {name} in {}", path.display()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn environment_variables_come_first() {
        let chain = AwsCredentialsChain::with_vars(vars(&[
            ("AWS_ACCESS_KEY_ID", "AKIDENV"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
            ("AWS_DEFAULT_REGION", "eu-central-1"),
        ]));
        let credentials = chain.resolve().unwrap();
        assert_eq!(credentials.access_key_id, "AKIDENV");
        assert_eq!(credentials.session_token.unwrap().expose(), "token");
        assert_eq!(chain.region().as_deref(), Some("eu-central-1"));
        assert!(!format!("{:?}", chain.resolve().unwrap()).contains("secret\""));
    }

    #[test]
    fn profiles_come_from_the_credentials_then_the_config_file() {
        let home = tempfile::tempdir().unwrap();
        let aws = home.path().join(".aws");
        std::fs::create_dir(&aws).unwrap();
        std::fs::write(
            aws.join("credentials"),
            "[default]\naws_access_key_id=AKIDFILE\naws_secret_access_key=s1\n",
        )
        .unwrap();
        std::fs::write(
            aws.join("config"),
            "[default]\nregion=ap-south-1\n[profile ops]\nregion=us-west-2\naws_access_key_id=AKIDOPS\naws_secret_access_key=s2\n",
        )
        .unwrap();
        let home_var = home.path().display().to_string();
        let chain = AwsCredentialsChain::with_vars(vars(&[("HOME", &home_var)]));
        let credentials = chain.resolve().unwrap();
        assert_eq!(credentials.access_key_id, "AKIDFILE");
        assert!(credentials.origin.starts_with("profile default in "));
        assert_eq!(chain.region().as_deref(), Some("ap-south-1"));

        let ops = AwsCredentialsChain::with_vars(vars(&[("HOME", &home_var), ("AWS_PROFILE", "ops")]));
        assert_eq!(ops.resolve().unwrap().access_key_id, "AKIDOPS");
        assert_eq!(ops.region().as_deref(), Some("us-west-2"));

        let missing = ops.clone().with_profile(Some("nope".to_owned()));
        let err = missing.resolve().unwrap_err().to_string();
        assert!(err.contains("profile `nope` is in neither"), "{err}");
    }

    #[test]
    fn nothing_found_says_what_to_set() {
        let chain = AwsCredentialsChain::with_vars(vars(&[("HOME", "/nonexistent")]));
        let err = chain.resolve().unwrap_err().to_string();
        assert!(err.contains("AWS_ACCESS_KEY_ID"), "{err}");
    }
}
