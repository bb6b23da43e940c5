//! Secret sources available now: files named by key in a directory, and
//! `PLATFORM__…_FILE` variables pointing at a file (Docker/Kubernetes secrets).
//! Vault and AWS Secrets Manager plug in behind the same port later.

use std::collections::HashMap;
use std::path::PathBuf;

use async_trait::async_trait;
use platform_ports::model::SecretString;
use platform_ports::secrets::{SecretError, SecretSource};

/// Reads secrets from files: `{dir}/{key}` (e.g. `/run/secrets/auth.jwt.secret`)
/// or the file named by `PLATFORM__AUTH__JWT__SECRET_FILE`.
#[derive(Clone, Debug, Default)]
pub struct FileSecretSource {
    dir: Option<PathBuf>,
    vars: Option<HashMap<String, String>>,
}

impl FileSecretSource {
    /// A source over `dir` (if any) and the process environment.
    #[must_use]
    pub fn new(dir: Option<PathBuf>) -> Self {
        Self { dir, vars: None }
    }

    /// Uses `vars` instead of the process environment (tests).
    #[must_use]
    pub fn with_vars(mut self, vars: HashMap<String, String>) -> Self {
        self.vars = Some(vars);
        self
    }

    fn var(&self, name: &str) -> Option<String> {
        match &self.vars {
            Some(vars) => vars.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
    }

    /// `auth.jwt.secret` → `PLATFORM__AUTH__JWT__SECRET_FILE`.
    fn file_var(key: &str) -> String {
        format!(
            "{}__{}_FILE",
            crate::config::ENV_PREFIX,
            key.to_uppercase().replace('.', "__")
        )
    }
}

async fn read_secret(key: &str, path: PathBuf) -> Result<Option<SecretString>, SecretError> {
    match tokio::fs::read_to_string(&path).await {
        // Files written by `echo` end with a newline that is not part of the secret.
        Ok(text) => Ok(Some(SecretString::new(text.trim_end_matches(['\r', '\n'])))),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(SecretError::Unreadable {
            store: "files".to_owned(),
            key: key.to_owned(),
            source: Box::new(err),
        }),
    }
}

#[async_trait]
impl SecretSource for FileSecretSource {
    fn name(&self) -> &str {
        "files"
    }

    async fn get(&self, name: &str) -> Result<Option<SecretString>, SecretError> {
        if let Some(path) = self.var(&Self::file_var(name)) {
            // An explicitly named file that is missing is an error, not a silent skip.
            return match read_secret(name, PathBuf::from(&path)).await? {
                Some(v) => Ok(Some(v)),
                None => Err(SecretError::Unreadable {
                    store: "files".to_owned(),
                    key: name.to_owned(),
                    source: format!("file `{path}` does not exist").into(),
                }),
            };
        }
        match &self.dir {
            Some(dir) => read_secret(name, dir.join(name)).await,
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_from_dir_and_file_variables() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("auth.jwt.secret"), "from-dir\n").unwrap();
        let other = dir.path().join("dsn.txt");
        std::fs::write(&other, "postgres://x").unwrap();
        let vars = HashMap::from([("PLATFORM__DATABASE__DSN_FILE".to_owned(), other.display().to_string())]);
        let source = FileSecretSource::new(Some(dir.path().to_path_buf())).with_vars(vars);
        assert_eq!(
            source.get("auth.jwt.secret").await.unwrap().unwrap().expose(),
            "from-dir"
        );
        assert_eq!(
            source.get("database.dsn").await.unwrap().unwrap().expose(),
            "postgres://x"
        );
        assert!(source.get("redis.url").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_named_missing_file_is_an_error() {
        let vars = HashMap::from([("PLATFORM__REDIS__URL_FILE".to_owned(), "/nonexistent/secret".to_owned())]);
        let source = FileSecretSource::default().with_vars(vars);
        assert!(source.get("redis.url").await.is_err());
    }
}
