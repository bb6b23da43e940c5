//! Secrets in files: `{dir}/{key}` (a mounted secrets folder) and
//! `PLATFORM__…_FILE` variables naming a file (Docker and Kubernetes secrets).

use std::collections::HashMap;
use std::path::PathBuf;

use async_trait::async_trait;
use platform_ports::model::SecretString;
use platform_ports::secrets::{SecretError, SecretSource};

const STORE: &str = "files";

/// Reads secrets from files: `{dir}/{key}` (e.g. `/run/secrets/auth.jwt.secret`)
/// or the file named by `PLATFORM__AUTH__JWT__SECRET_FILE`.
#[derive(Clone, Debug)]
pub struct FileSecretSource {
    dir: Option<PathBuf>,
    env_prefix: String,
    vars: Option<HashMap<String, String>>,
}

impl Default for FileSecretSource {
    fn default() -> Self {
        Self::new(None)
    }
}

impl FileSecretSource {
    /// A source over `dir` (if any) and the process environment, with the
    /// `PLATFORM` variable prefix.
    #[must_use]
    pub fn new(dir: Option<PathBuf>) -> Self {
        Self {
            dir,
            env_prefix: "PLATFORM".to_owned(),
            vars: None,
        }
    }

    /// Uses another variable prefix (`{prefix}__AUTH__JWT__SECRET_FILE`).
    #[must_use]
    pub fn with_env_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.env_prefix = prefix.into();
        self
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
    fn file_var(&self, key: &str) -> String {
        format!("{}__{}_FILE", self.env_prefix, key.to_uppercase().replace('.', "__"))
    }
}

async fn read_secret(key: &str, path: PathBuf) -> Result<Option<SecretString>, SecretError> {
    match tokio::fs::read_to_string(&path).await {
        // Files written by `echo` end with a newline that is not part of the secret.
        Ok(text) => Ok(Some(SecretString::new(text.trim_end_matches(['\r', '\n'])))),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(SecretError::Unreadable {
            store: STORE.to_owned(),
            key: key.to_owned(),
            source: Box::new(err),
        }),
    }
}

#[async_trait]
impl SecretSource for FileSecretSource {
    fn name(&self) -> &str {
        STORE
    }

    async fn get(&self, key: &str) -> Result<Option<SecretString>, SecretError> {
        if let Some(path) = self.var(&self.file_var(key)) {
            // An explicitly named file that is missing is an error, not a silent skip.
            return match read_secret(key, PathBuf::from(&path)).await? {
                Some(v) => Ok(Some(v)),
                None => Err(SecretError::Unreadable {
                    store: STORE.to_owned(),
                    key: key.to_owned(),
                    source: format!("file `{path}` does not exist").into(),
                }),
            };
        }
        match &self.dir {
            Some(dir) => read_secret(key, dir.join(key)).await,
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
        let set = source
            .get_many(&["database.dsn", "redis.url", "auth.jwt.secret"])
            .await
            .unwrap();
        assert_eq!(set.keys().collect::<Vec<_>>(), ["auth.jwt.secret", "database.dsn"]);
        assert_eq!(set.get("database.dsn").unwrap().expose(), "postgres://x");
    }

    #[tokio::test]
    async fn a_named_missing_file_is_an_error_naming_the_key() {
        let vars = HashMap::from([("APP__REDIS__URL_FILE".to_owned(), "/nonexistent/secret".to_owned())]);
        let source = FileSecretSource::default().with_env_prefix("APP").with_vars(vars);
        let err = source.get("redis.url").await.unwrap_err();
        assert_eq!(err.to_string(), "files: secret `redis.url` cannot be read");
    }
}
