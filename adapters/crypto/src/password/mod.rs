//! [`Argon2idHasher`]: argon2id password hashes as PHC strings, computed on a
//! bounded slice of tokio's blocking pool.

mod gate;

use std::sync::OnceLock;

use argon2::password_hash::Error as PhcError;
use argon2::{Algorithm, Argon2, Params, PasswordHash as Phc, PasswordHasher as _, PasswordVerifier as _, Version};
use async_trait::async_trait;
use platform_ports::crypto::{HashError, PasswordHasher};
use platform_ports::model::{PasswordHash, SecretString};
use tokio::sync::OnceCell;

use gate::BlockingGate;

/// What `verify_dummy` hashes once; never stored, so its value does not matter.
const DUMMY_PASSWORD: &str = "platform: no such account";

/// argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory cost in KiB (`m`).
    pub memory_kib: u32,
    /// Passes over the memory (`t`).
    pub iterations: u32,
    /// Lanes (`p`).
    pub parallelism: u32,
}

impl Default for Argon2Params {
    /// OWASP's first argon2id recommendation: 19 MiB, 2 passes, 1 lane.
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl Argon2Params {
    /// The argon2 crate's form, checked (`m >= 8p`, `t >= 1`, `1 <= p < 2^24`).
    fn to_argon2(self) -> Result<Params, argon2::Error> {
        Params::new(self.memory_kib, self.iterations, self.parallelism, None)
    }
}

/// How [`Argon2idHasher`] hashes and how many hashes may run at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HasherSettings {
    /// Cost of new hashes (verification reads the cost from the stored hash).
    pub params: Argon2Params,
    /// Hashes running at once; more callers wait their turn (at least 1).
    pub max_concurrent: usize,
}

impl Default for HasherSettings {
    fn default() -> Self {
        Self {
            params: Argon2Params::default(),
            max_concurrent: 2,
        }
    }
}

/// A [`PasswordHasher`] computing argon2id (v19) on tokio's blocking pool,
/// at most `max_concurrent` hashes at a time, so a burst of logins queues
/// instead of starving the async runtime.
///
/// Built with [`Argon2idHasher::new`] or, in a shaku module, from the
/// `settings` parameter (which has no default: bootstrap must pass it).
#[derive(Debug, shaku::Component)]
#[shaku(interface = PasswordHasher)]
pub struct Argon2idHasher {
    /// Cost of new hashes and the concurrency bound.
    settings: HasherSettings,
    /// Sized from `settings` on first use (shaku builds fields independently).
    #[shaku(force_default)]
    gate: OnceLock<BlockingGate>,
    /// The hash `verify_dummy` checks against, made by the first call.
    #[shaku(force_default)]
    dummy: OnceCell<PasswordHash>,
}

impl Argon2idHasher {
    /// A hasher with these costs and this concurrency bound.
    ///
    /// Invalid costs (see [`Argon2Params`]) are not refused here, where a
    /// shaku build could not report them: every `hash` then fails with
    /// [`HashError::Unavailable`]. Bootstrap validates them first.
    #[must_use]
    pub fn new(settings: HasherSettings) -> Self {
        Self {
            settings,
            gate: OnceLock::from(BlockingGate::new(settings.max_concurrent)),
            dummy: OnceCell::new(),
        }
    }

    /// The settings it was built with.
    #[must_use]
    pub fn settings(&self) -> &HasherSettings {
        &self.settings
    }

    /// Hashes and verifications running now (at most `max_concurrent`), for a gauge.
    #[must_use]
    pub fn running(&self) -> usize {
        self.gate().running()
    }

    /// Refuses new work with [`HashError::Unavailable`] (for shutdown);
    /// hashes already running finish.
    pub fn close(&self) {
        self.gate().close();
    }

    fn gate(&self) -> &BlockingGate {
        self.gate
            .get_or_init(|| BlockingGate::new(self.settings.max_concurrent))
    }
}

#[async_trait]
impl PasswordHasher for Argon2idHasher {
    async fn hash(&self, password: &SecretString) -> Result<PasswordHash, HashError> {
        let params = self.settings.params.to_argon2().map_err(unavailable)?;
        let password = password.clone();
        self.gate().run(move || hash_now(&password, params)).await?
    }

    async fn verify(&self, password: &SecretString, hash: &PasswordHash) -> Result<bool, HashError> {
        // Parsed before queueing: a malformed hash should not wait for a permit.
        let stored = parse(hash)?;
        let password = password.clone();
        self.gate().run(move || verify_now(&password, &stored)).await?
    }

    async fn verify_dummy(&self, password: &SecretString) -> Result<(), HashError> {
        let dummy = self
            .dummy
            .get_or_try_init(|| async { self.hash(&SecretString::new(DUMMY_PASSWORD)).await })
            .await?;
        // Only the time spent matters; the outcome is always "no".
        self.verify(password, dummy).await.map(|_| ())
    }
}

/// Hashes with a fresh 16-byte salt from the OS.
fn hash_now(password: &SecretString, params: Params) -> Result<PasswordHash, HashError> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.expose().as_bytes())
        .map(|phc| PasswordHash(phc.to_string()))
        .map_err(unavailable)
}

/// Verifies with the algorithm, version and costs written in the hash; the
/// final comparison is constant time (`phc::Output`'s equality).
fn verify_now(password: &SecretString, stored: &Phc) -> Result<bool, HashError> {
    match Argon2::default().verify_password(password.expose().as_bytes(), stored) {
        Ok(()) => Ok(true),
        Err(PhcError::PasswordInvalid) => Ok(false),
        Err(err) => Err(unavailable(err)),
    }
}

/// Accepts only complete argon2 PHC strings whose parameters argon2 can run.
fn parse(hash: &PasswordHash) -> Result<Phc, HashError> {
    let phc = Phc::new(&hash.0).map_err(|_| HashError::Malformed)?;
    let complete = phc.salt.is_some() && phc.hash.is_some();
    let runnable = Algorithm::new(phc.algorithm.as_str()).is_ok()
        && phc.version.is_none_or(|v| Version::try_from(v).is_ok())
        && Params::try_from(&phc).is_ok();
    if complete && runnable {
        Ok(phc)
    } else {
        Err(HashError::Malformed)
    }
}

fn unavailable(err: impl std::error::Error + Send + Sync + 'static) -> HashError {
    HashError::Unavailable(Box::new(err))
}
