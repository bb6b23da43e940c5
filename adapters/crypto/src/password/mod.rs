//! [`Argon2idHasher`]: argon2id password hashes as PHC strings, computed on a
//! bounded slice of tokio's blocking pool.

mod gate;

use std::sync::OnceLock;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash as Phc, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use async_trait::async_trait;
use platform_ports::identity::PasswordHash;
use platform_ports::identity::{HashError, PasswordHasher};
use platform_ports::model::SecretString;
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

/// Hashes with a fresh 16-byte salt from the OS (the salt argon2's own
/// `hash_password` would draw).
fn hash_now(password: &SecretString, params: Params) -> Result<PasswordHash, HashError> {
    let salt = argon2::password_hash::try_generate_salt().map_err(unavailable)?;
    hash_with_salt(password.expose().as_bytes(), &salt, params).map(|phc| PasswordHash(phc.to_string()))
}

/// argon2id (v19) of `password` as a PHC string, built exactly as argon2's
/// `hash_password_with_salt` builds it: `$argon2id$v=19$m=…,t=…,p=…$<salt>$<output>`,
/// with the default 32-byte output unless `params` say otherwise.
fn hash_with_salt(password: &[u8], salt: &[u8], params: Params) -> Result<Phc, HashError> {
    let (algorithm, version) = (Algorithm::Argon2id, Version::V0x13);
    let salt = Salt::new(salt).map_err(unavailable)?;
    let params_string = ParamsString::try_from(&params).map_err(unavailable)?;
    let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let output = compute(algorithm, version, params, password, &salt, output_len)?;
    Ok(Phc {
        algorithm: algorithm.ident(),
        version: Some(version.into()),
        params: params_string,
        salt: Some(salt),
        hash: Some(output),
    })
}

/// Verifies with the algorithm, version and costs written in the hash; the
/// final comparison is constant time (`phc::Output`'s equality).
fn verify_now(password: &SecretString, stored: &Stored) -> Result<bool, HashError> {
    let computed = compute(
        stored.algorithm,
        stored.version,
        stored.params.clone(),
        password.expose().as_bytes(),
        &stored.salt,
        stored.expected.len(),
    )?;
    Ok(computed == stored.expected)
}

/// The least capacity, in bytes, of argon2's working memory: above glibc's
/// largest mmap threshold (32 MiB on 64-bit targets, 16 MiB on 32-bit); see [`compute`].
const WORK_AREA_CAPACITY: usize = 33 * 1024 * 1024;

/// Runs argon2, returning its `output_len`-byte output.
///
/// The working memory (`params.block_count()` blocks of 1 KiB: 19 MiB at the
/// default costs) is allocated here rather than by the argon2 crate, on
/// purpose. A 19 MiB allocation is served by mmap only until glibc frees the
/// first one: that free raises glibc's dynamic mmap threshold to 19 MiB (and
/// its trim threshold to twice that), so from then on every hash takes its
/// blocks from the malloc arena of whichever blocking thread runs it and
/// frees them back into that arena, which keeps them resident. Spread over
/// tokio's blocking threads and their arenas, that grew RSS by hundreds of
/// MiB (tests/password_memory.rs measured ~690 MiB after 20 hashes and 20
/// verifications), never given back.
///
/// So the vector's capacity is made larger than 32 MiB, the most glibc ever
/// raises that dynamic threshold to (`DEFAULT_MMAP_THRESHOLD_MAX`): an arena
/// is never grown for a request that large; it gets a mapping of its own
/// (mmap), unmapped when the vector drops, so RSS falls back after every
/// hash. (Only a free chunk of 33 MiB already sitting in the arena could
/// serve it instead, and that memory was resident anyway.) Freeing it does
/// not move the threshold either: only frees of at most 32 MiB do.
///
/// The oversizing costs no memory: `resize` writes only the `block_count`
/// blocks argon2 uses and the pages past them are never touched, so the
/// kernel never backs them with RAM (with transparent huge pages, at most the
/// rest of the last huge page). They cost address space only, returned by the
/// same munmap. argon2 0.6 accepts the longer slice: it works on
/// `memory[..block_count]`.
///
/// Keeping one buffer per thread instead would pin 19 MiB per blocking thread
/// for good, and the idle process is meant to stay below that.
fn compute(
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &[u8],
    salt: &[u8],
    output_len: usize,
) -> Result<Output, HashError> {
    let block_count = params.block_count();
    let mut blocks: Vec<Block> = Vec::new();
    blocks
        .try_reserve_exact(block_count.max(WORK_AREA_CAPACITY / Block::SIZE))
        .map_err(unavailable)?;
    blocks.resize(block_count, Block::default());

    let mut buffer = [0u8; Output::MAX_LENGTH];
    let out = buffer
        .get_mut(..output_len)
        .ok_or(argon2::Error::OutputTooLong)
        .map_err(unavailable)?;
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, out, &mut blocks)
        .map_err(unavailable)?;
    Output::new(out).map_err(unavailable)
}

/// A stored hash, parsed and checked before a verification queues.
struct Stored {
    algorithm: Algorithm,
    version: Version,
    /// The costs, with the output length of `expected`.
    params: Params,
    salt: Salt,
    expected: Output,
}

/// Accepts only complete argon2 PHC strings whose parameters argon2 can run.
fn parse(hash: &PasswordHash) -> Result<Stored, HashError> {
    let phc = Phc::new(&hash.0).map_err(|_| HashError::Malformed)?;
    let (Some(salt), Some(expected)) = (phc.salt, phc.hash) else {
        return Err(HashError::Malformed);
    };
    let algorithm = Algorithm::new(phc.algorithm.as_str()).map_err(|_| HashError::Malformed)?;
    // No version field means v19, as argon2's own verifier reads it.
    let version = phc
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|_| HashError::Malformed)?
        .unwrap_or_default();
    // Also sets the output length to the stored output's.
    let params = Params::try_from(&phc).map_err(|_| HashError::Malformed)?;
    Ok(Stored {
        algorithm,
        version,
        params,
        salt,
        expected,
    })
}

fn unavailable(err: impl std::error::Error + Send + Sync + 'static) -> HashError {
    HashError::Unavailable(Box::new(err))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

    use argon2::password_hash::PasswordHasher as _;

    use super::*;

    const CHEAP: Argon2Params = Argon2Params {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 2,
    };

    #[test]
    fn the_phc_string_is_argon2s_own_byte_for_byte() {
        let salt = [0x5a; 16];
        for params in [Argon2Params::default(), CHEAP] {
            let params = params.to_argon2().unwrap();
            let ours = hash_with_salt(b"pw", &salt, params.clone()).unwrap().to_string();
            let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password_with_salt(b"pw", &salt)
                .unwrap()
                .to_string();
            assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn the_oversized_buffer_gives_argon2s_output() {
        let params = Params::new(1024, 1, 1, Some(64)).unwrap();
        let mut theirs = [0u8; 64];
        Argon2::new(Algorithm::Argon2d, Version::V0x10, params.clone())
            .hash_password_into(b"pw", b"somesalt", &mut theirs)
            .unwrap();
        let ours = compute(Algorithm::Argon2d, Version::V0x10, params, b"pw", b"somesalt", 64).unwrap();
        assert_eq!(ours.as_bytes(), theirs);
    }

    #[test]
    fn parse_keeps_what_verification_needs() {
        let hash = PasswordHash(
            Argon2::new(
                Algorithm::Argon2i,
                Version::V0x10,
                Params::new(2048, 3, 2, Some(20)).unwrap(),
            )
            .hash_password_with_salt(b"pw", &[1; 12])
            .unwrap()
            .to_string(),
        );
        let stored = parse(&hash).unwrap();
        assert_eq!(stored.algorithm, Algorithm::Argon2i);
        assert_eq!(stored.version, Version::V0x10);
        assert_eq!(
            (stored.params.m_cost(), stored.params.t_cost(), stored.params.p_cost()),
            (2048, 3, 2)
        );
        assert_eq!(stored.params.output_len(), Some(20));
        assert_eq!(stored.expected.len(), 20);
        assert_eq!(&*stored.salt, &[1; 12]);
    }
}
