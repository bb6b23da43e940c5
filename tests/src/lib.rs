//! Harness for the black-box suites: starts a whole platform on 127.0.0.1
//! port 0 with the `test` configuration and talks to it over real HTTP.
//!
//! The suites only use HTTP and this harness, so the same tests run against
//! whichever adapters the configuration selects (`PLATFORM_TEST__…`
//! variables are passed through as `PLATFORM__…` overrides).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use platform_bootstrap::app::{Platform, PlatformOptions};
use platform_bootstrap::config::{self, Environment, LoadOptions, Settings};
use platform_bootstrap::container::PlatformModule;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The repository's `config/` directory.
#[must_use]
pub fn config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config")
}

/// The `test` settings, with extra `PLATFORM__…` overrides.
///
/// # Errors
/// When the configuration does not load.
pub fn test_settings(overrides: &[(&str, &str)]) -> anyhow::Result<Settings> {
    let mut vars: HashMap<String, String> = std::env::vars()
        .filter_map(|(k, v)| {
            k.strip_prefix("PLATFORM_TEST__")
                .map(|rest| (format!("PLATFORM__{rest}"), v))
        })
        .collect();
    for (k, v) in overrides {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    let loaded = config::load(&LoadOptions {
        config_dir: Some(config_dir()),
        environment: Some(Environment::Test),
        vars: Some(vars),
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(loaded.settings)
}

/// A running platform.
pub struct TestApp {
    /// Its address.
    pub addr: SocketAddr,
    /// A client for it.
    pub client: reqwest::Client,
    /// Its container, to resolve ports.
    pub module: Arc<PlatformModule>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    /// Starts the platform with the `test` configuration.
    ///
    /// # Errors
    /// When it cannot be built.
    pub async fn spawn() -> anyhow::Result<Self> {
        Self::spawn_with(test_settings(&[])?, PlatformOptions::default()).await
    }

    /// Starts a platform built from `settings` and `options`.
    ///
    /// # Errors
    /// When it cannot be built.
    pub async fn spawn_with(settings: Settings, options: PlatformOptions) -> anyhow::Result<Self> {
        let platform = Platform::build_with(settings, options).await?;
        let addr = platform.local_addr();
        let module = platform.module().clone();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(platform.run_until(async move {
            let _ = rx.await;
        }));
        Ok(Self {
            addr,
            client: reqwest::Client::new(),
            module,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// `http://addr{path}`.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// GET `path`.
    ///
    /// # Errors
    /// Transport errors.
    pub async fn get(&self, path: &str) -> reqwest::Result<reqwest::Response> {
        self.client.get(self.url(path)).send().await
    }

    /// Asks the platform to shut down and waits for it.
    ///
    /// # Errors
    /// When the platform failed while running or stopping.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(task) => task.await?,
            None => Ok(()),
        }
    }

    /// Signals shutdown without waiting; returns the task to await.
    pub fn begin_stop(&mut self) -> Option<JoinHandle<anyhow::Result<()>>> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.take()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
