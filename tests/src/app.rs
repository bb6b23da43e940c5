//! [`TestApp`]: one running platform with its own mail and blob directories.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use platform_bootstrap::app::{Platform, PlatformOptions};
use platform_bootstrap::config::{BlobDriver, MailDriver, Settings};
use platform_bootstrap::container::PlatformModule;
use platform_ports::model::SecretString;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::isolation::Isolation;
use crate::mail::{CaptureOutbox, Outbox, capture_maildir, check_maildir, tagged_sender};
use crate::test_settings;

/// A running platform.
pub struct TestApp {
    /// Its address.
    pub addr: SocketAddr,
    /// A client for it.
    pub client: reqwest::Client,
    /// Its container, to resolve ports.
    pub module: Arc<PlatformModule>,
    /// The settings it was built from (temporary directories filled in).
    pub settings: Settings,
    /// Mail files already handed out by `wait_for_mail`, so each is returned once.
    pub(crate) seen_mail: Mutex<HashSet<PathBuf>>,
    /// Where its sent messages are read.
    pub(crate) outbox: Outbox,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    /// Kept alive for as long as the app: dropping them deletes the directories.
    _mail_dir: TempDir,
    _blob_dir: TempDir,
    /// Declared last: dropped after the app's own fields.
    _isolation: Isolation,
}

impl TestApp {
    /// Starts the platform with the `test` configuration.
    ///
    /// # Errors
    /// When it cannot be built.
    pub async fn spawn() -> anyhow::Result<Self> {
        Self::spawn_with(test_settings(&[])?, PlatformOptions::default()).await
    }

    /// Starts the platform with the `test` configuration plus `PLATFORM__…` overrides.
    ///
    /// # Errors
    /// When the configuration does not load or the platform cannot be built.
    pub async fn spawn_with_overrides(overrides: &[(&str, &str)]) -> anyhow::Result<Self> {
        Self::spawn_with(test_settings(overrides)?, PlatformOptions::default()).await
    }

    /// Starts a second instance on the same database schema and cache
    /// namespace as `other` (two instances behind one load balancer, or a
    /// restart). The schema stays `other`'s: it is dropped with `other`.
    ///
    /// # Errors
    /// When the platform cannot be built.
    pub async fn spawn_sharing(other: &TestApp) -> anyhow::Result<Self> {
        Self::start(other.settings.clone(), PlatformOptions::default(), Isolation::none()).await
    }

    /// Like [`TestApp::spawn_sharing`], with `change` applied to the shared
    /// settings first (a restart with `scheduler.workers` turned on).
    ///
    /// # Errors
    /// When the platform cannot be built.
    pub async fn spawn_sharing_with(other: &TestApp, change: impl FnOnce(&mut Settings)) -> anyhow::Result<Self> {
        let mut settings = other.settings.clone();
        change(&mut settings);
        Self::start(settings, PlatformOptions::default(), Isolation::none()).await
    }

    /// Starts a platform built from `settings` and `options`.
    ///
    /// `mail.file.dir` and `blob.local.root` are replaced by fresh temporary
    /// directories so that apps running side by side never share files; with
    /// `mail.driver: smtp`, `mail.from` gets a tag of the app's own, so that
    /// its messages can be told from other apps' in the capture server's
    /// shared maildir.
    ///
    /// # Errors
    /// When it cannot be built.
    pub async fn spawn_with(mut settings: Settings, options: PlatformOptions) -> anyhow::Result<Self> {
        let isolation = Isolation::prepare(&mut settings).await?;
        Self::start(settings, options, isolation).await
    }

    async fn start(mut settings: Settings, options: PlatformOptions, isolation: Isolation) -> anyhow::Result<Self> {
        let mail_dir = tempfile::Builder::new().prefix("platform-mail-").tempdir()?;
        let blob_dir = tempfile::Builder::new().prefix("platform-blob-").tempdir()?;
        settings.mail.file.dir = mail_dir.path().to_path_buf();
        settings.blob.local.root = blob_dir.path().to_path_buf();
        s3_defaults(&mut settings);
        let outbox = outbox(&mut settings)?;

        let platform = Platform::build_with(settings.clone(), options).await?;
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
            settings,
            seen_mail: Mutex::new(HashSet::new()),
            outbox,
            shutdown: Some(tx),
            task: Some(task),
            _mail_dir: mail_dir,
            _blob_dir: blob_dir,
            _isolation: isolation,
        })
    }

    /// The directory the file mailer writes `.eml` files into.
    #[must_use]
    pub fn mail_dir(&self) -> &Path {
        &self.settings.mail.file.dir
    }

    /// The local blob store's root directory.
    #[must_use]
    pub fn blob_dir(&self) -> &Path {
        &self.settings.blob.local.root
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
        if let Outbox::Capture(capture) = &self.outbox {
            capture.discard();
        }
    }
}

/// Where the app's messages will be read. Over SMTP, every instance (one
/// started from another's settings too) sends as an address of its own:
/// recipients repeat across apps, so the envelope sender is what tells one
/// app's messages from another's in the shared maildir.
fn outbox(settings: &mut Settings) -> anyhow::Result<Outbox> {
    if settings.mail.driver != MailDriver::Smtp {
        return Ok(Outbox::Files);
    }
    let maildir = capture_maildir();
    check_maildir(&maildir)?;
    let (from, sender) = tagged_sender(&settings.mail.from, &uuid::Uuid::new_v4().simple().to_string())?;
    settings.mail.from = from;
    Ok(Outbox::Capture(CaptureOutbox::new(maildir, &sender)))
}

/// With `blob.driver: s3` and no bucket named, the test S3 server that
/// `.ci/services/s3.sh` starts (SeaweedFS on 127.0.0.1:18333, its
/// credentials, overridable with `PLATFORM_TEST_S3_*`) and a shared bucket
/// created on first use: `PLATFORM_TEST__BLOB__DRIVER=s3` alone runs a suite on S3.
/// Keys never collide across apps: every file's key holds its own v7 id.
fn s3_defaults(settings: &mut Settings) {
    if settings.blob.driver != BlobDriver::S3 || !settings.blob.s3.bucket.is_empty() {
        return;
    }
    let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    let s3 = &mut settings.blob.s3;
    s3.bucket = var("PLATFORM_TEST_S3_BUCKET", "platform-black-box");
    s3.endpoint = var("PLATFORM_TEST_S3_ENDPOINT", "http://127.0.0.1:18333");
    s3.access_key = SecretString::new(var("PLATFORM_TEST_S3_ACCESS_KEY", "platform-test-access"));
    s3.secret_key = SecretString::new(var("PLATFORM_TEST_S3_SECRET_KEY", "platform-test-secret"));
    s3.path_style = true;
    s3.create_bucket = true;
}
