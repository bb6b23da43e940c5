//! Measures argon2id hashes per second through `Argon2idHasher` (the
//! production code path: blocking pool, concurrency gate, fresh salts).
//!
//! ```text
//! cargo run --release -p platform-adapter-crypto --example argon2_rate -- \
//!     <memory_kib> <iterations> <parallelism> <seconds> [concurrency]
//! ```
//!
//! `concurrency` (default 1) callers hash at once through a gate of as many
//! permits, so `concurrency = max_concurrent_hashes` gives the server's ceiling.

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use platform_adapter_crypto::{Argon2Params, Argon2idHasher, HasherSettings};
use platform_ports::identity::PasswordHasher;
use platform_ports::model::SecretString;

const USAGE: &str = "usage: argon2_rate <memory_kib> <iterations> <parallelism> <seconds> [concurrency]";

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !(4..=5).contains(&args.len()) {
        return Err(USAGE.into());
    }
    let number = |i: usize| -> Result<u64, Box<dyn Error>> {
        args.get(i)
            .ok_or(USAGE)?
            .parse::<u64>()
            .map_err(|e| format!("argument {}: {e}\n{USAGE}", i + 1).into())
    };
    let params = Argon2Params {
        memory_kib: u32::try_from(number(0)?)?,
        iterations: u32::try_from(number(1)?)?,
        parallelism: u32::try_from(number(2)?)?,
    };
    let seconds = Duration::from_secs(number(3)?);
    let concurrency = if args.len() == 5 {
        usize::try_from(number(4)?)?.max(1)
    } else {
        1
    };

    let hasher = Arc::new(Argon2idHasher::new(HasherSettings {
        params,
        max_concurrent: concurrency,
    }));
    // One hash first: it surfaces bad parameters and warms the blocking pool.
    hasher.hash(&SecretString::new("warm-up")).await?;

    let start = Instant::now();
    let callers: Vec<_> = (0..concurrency)
        .map(|caller| {
            let hasher = hasher.clone();
            tokio::spawn(async move {
                let password = SecretString::new(format!("benchmark password {caller}"));
                let mut done = 0_u64;
                while start.elapsed() < seconds {
                    hasher.hash(&password).await?;
                    done += 1;
                }
                Ok::<u64, platform_ports::identity::HashError>(done)
            })
        })
        .collect();
    let mut hashes = 0_u64;
    for caller in callers {
        hashes += caller.await??;
    }
    let elapsed = start.elapsed().as_secs_f64();

    #[allow(clippy::cast_precision_loss)] // a count of hashes fits an f64's mantissa
    let rate = hashes as f64 / elapsed;
    println!(
        "{rate:.1} hashes/s (argon2id m={} t={} p={}, {concurrency} at a time, {hashes} hashes in {elapsed:.1} s)",
        params.memory_kib, params.iterations, params.parallelism
    );
    Ok(())
}
