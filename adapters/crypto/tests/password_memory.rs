//! Resident memory after many production-cost hashes (Linux: reads `/proc/self/status`).
//!
//! Its own test binary, so no other test allocates while it measures.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;

use platform_adapter_crypto::{Argon2idHasher, HasherSettings};
use platform_ports::identity::PasswordHasher;
use platform_ports::model::SecretString;

const MIB: u64 = 1024 * 1024;

/// A size field of `/proc/self/status` (`VmRSS`, `VmHWM`), in bytes.
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|line| line.starts_with(field)).unwrap();
    let kib: u64 = line[field.len()..]
        .trim_start_matches(':')
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kib * 1024
}

/// Production costs (19 MiB per hash), four at a time, so several blocking
/// threads (and so several malloc arenas) each run some of the hashes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_goes_back_after_every_hash() {
    const CONCURRENT: usize = 4;
    let hasher = Arc::new(Argon2idHasher::new(HasherSettings {
        max_concurrent: CONCURRENT,
        ..HasherSettings::default()
    }));
    let before = status_bytes("VmRSS");

    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let hasher = hasher.clone();
            tokio::spawn(async move {
                let password = SecretString::new(format!("password {i}"));
                let hash = hasher.hash(&password).await.unwrap();
                assert!(hasher.verify(&password, &hash).await.unwrap());
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }

    let (after, peak) = (status_bytes("VmRSS"), status_bytes("VmHWM"));
    eprintln!(
        "VmRSS before {} KiB, after 20 hashes and 20 verifications {} KiB (peak VmHWM {} KiB)",
        before / 1024,
        after / 1024,
        peak / 1024
    );
    assert!(
        after < before + 60 * MIB,
        "RSS grew from {} MiB to {} MiB",
        before / MIB,
        after / MIB
    );
    // Each hash reserves 33 MiB of address space but touches only its 19 MiB.
    assert!(
        peak < before + CONCURRENT as u64 * 26 * MIB,
        "RSS peaked at {} MiB (from {} MiB): more than the blocks in use",
        peak / MIB,
        before / MIB
    );
}
