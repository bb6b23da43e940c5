//! `Argon2idHasher` against the `PasswordHasher` contract.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use platform_adapter_crypto::{Argon2Params, Argon2idHasher, Argon2idHasherParameters, HasherSettings};
use platform_ports::identity::PasswordHash;
use platform_ports::identity::{HashError, PasswordHasher};
use platform_ports::model::SecretString;

/// Cheap costs keep the suite fast; the code path is the production one.
const CHEAP: Argon2Params = Argon2Params {
    memory_kib: 1024,
    iterations: 1,
    parallelism: 1,
};

fn hasher(params: Argon2Params, max_concurrent: usize) -> Argon2idHasher {
    Argon2idHasher::new(HasherSettings { params, max_concurrent })
}

fn secret(value: &str) -> SecretString {
    SecretString::new(value)
}

#[test]
fn defaults_are_owasps_first_recommendation() {
    let settings = HasherSettings::default();
    assert_eq!(
        settings.params,
        Argon2Params {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1
        }
    );
    assert_eq!(settings.max_concurrent, 2);
}

#[tokio::test]
async fn a_hash_verifies_its_password_and_no_other() {
    let hasher = hasher(CHEAP, 2);
    let hash = hasher.hash(&secret("correct horse battery staple")).await.unwrap();
    assert!(
        hasher
            .verify(&secret("correct horse battery staple"), &hash)
            .await
            .unwrap()
    );
    assert!(
        !hasher
            .verify(&secret("correct horse battery stapler"), &hash)
            .await
            .unwrap()
    );
    assert!(!hasher.verify(&secret(""), &hash).await.unwrap());
}

#[tokio::test]
async fn the_hash_is_an_argon2id_phc_string_carrying_its_costs() {
    let params = Argon2Params {
        memory_kib: 2048,
        iterations: 3,
        parallelism: 2,
    };
    let hash = hasher(params, 1).hash(&secret("pw")).await.unwrap();
    let fields: Vec<&str> = hash.0.split('$').collect();
    // "", "argon2id", "v=19", params, salt, output
    assert_eq!(fields.len(), 6, "{}", hash.0);
    assert_eq!(&fields[..4], ["", "argon2id", "v=19", "m=2048,t=3,p=2"]);
    assert_eq!(fields[4].len(), 22, "16-byte salt, unpadded base64");
    assert_eq!(fields[5].len(), 43, "32-byte output, unpadded base64");
    assert!(!hash.0.contains("pw$"));
}

#[tokio::test]
async fn every_hash_gets_a_fresh_salt() {
    let hasher = hasher(CHEAP, 2);
    let a = hasher.hash(&secret("same")).await.unwrap();
    let b = hasher.hash(&secret("same")).await.unwrap();
    assert_ne!(a, b);
    assert_ne!(a.0.split('$').nth(4), b.0.split('$').nth(4));
}

#[tokio::test]
async fn verify_reads_the_costs_and_variant_from_the_hash() {
    let old = hasher(CHEAP, 1).hash(&secret("pw")).await.unwrap();
    let current = hasher(
        Argon2Params {
            memory_kib: 4096,
            iterations: 2,
            parallelism: 1,
        },
        1,
    );
    assert!(current.verify(&secret("pw"), &old).await.unwrap());

    // An argon2i hash made by the reference crate directly.
    let argon2i = argon2::Argon2::new(
        argon2::Algorithm::Argon2i,
        argon2::Version::V0x13,
        argon2::Params::new(1024, 2, 1, None).unwrap(),
    )
    .hash_password(b"pw")
    .unwrap()
    .to_string();
    assert!(argon2i.starts_with("$argon2i$"));
    let argon2i = PasswordHash(argon2i);
    assert!(current.verify(&secret("pw"), &argon2i).await.unwrap());
    assert!(!current.verify(&secret("pW"), &argon2i).await.unwrap());
}

/// What the hasher stored before it allocated argon2's memory itself:
/// argon2's own `hash_password`, same algorithm, version and costs.
fn argon2_crate_hash(params: argon2::Params, password: &[u8]) -> PasswordHash {
    let argon2 = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    PasswordHash(argon2.hash_password(password).unwrap().to_string())
}

#[tokio::test]
async fn hashes_made_by_the_argon2_crate_verify() {
    let hasher = hasher(CHEAP, 1);
    for params in [
        argon2::Params::new(CHEAP.memory_kib, CHEAP.iterations, CHEAP.parallelism, None).unwrap(),
        // Other output lengths are recomputed at the stored length.
        argon2::Params::new(1024, 1, 2, Some(64)).unwrap(),
        argon2::Params::new(1024, 1, 1, Some(16)).unwrap(),
    ] {
        let stored = argon2_crate_hash(params, b"correct horse");
        assert!(
            hasher.verify(&secret("correct horse"), &stored).await.unwrap(),
            "{}",
            stored.0
        );
        assert!(
            !hasher.verify(&secret("correct horsf"), &stored).await.unwrap(),
            "{}",
            stored.0
        );
        assert!(!hasher.verify(&secret(""), &stored).await.unwrap(), "{}", stored.0);
    }
}

#[tokio::test]
async fn a_production_cost_hash_from_the_argon2_crate_verifies() {
    let stored = argon2_crate_hash(argon2::Params::new(19_456, 2, 1, None).unwrap(), b"pw");
    assert!(stored.0.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", stored.0);
    let hasher = hasher(Argon2Params::default(), 1);
    assert!(hasher.verify(&secret("pw"), &stored).await.unwrap());
    assert!(!hasher.verify(&secret("pW"), &stored).await.unwrap());
}

#[tokio::test]
async fn our_hashes_verify_with_the_argon2_crate() {
    for params in [CHEAP, Argon2Params::default()] {
        let hash = hasher(params, 1).hash(&secret("correct horse")).await.unwrap();
        let parsed = argon2::PasswordHash::new(&hash.0).unwrap();
        let argon2 = argon2::Argon2::default();
        assert_eq!(argon2.verify_password(b"correct horse", &parsed), Ok(()), "{}", hash.0);
        assert_eq!(
            argon2.verify_password(b"correct horsf", &parsed),
            Err(argon2::password_hash::Error::PasswordInvalid)
        );
    }
}

#[tokio::test]
async fn a_hash_without_a_version_field_is_read_as_v19() {
    // As the argon2 crate reads it.
    let hasher = hasher(CHEAP, 1);
    let hash = hasher.hash(&secret("pw")).await.unwrap();
    let unversioned = PasswordHash(hash.0.replace("$v=19$", "$"));
    assert!(
        hasher.verify(&secret("pw"), &unversioned).await.unwrap(),
        "{}",
        unversioned.0
    );
    assert!(!hasher.verify(&secret("pW"), &unversioned).await.unwrap());
}

#[tokio::test]
async fn malformed_hashes_are_refused() {
    let hasher = hasher(CHEAP, 1);
    let good = hasher.hash(&secret("pw")).await.unwrap().0;
    let without_output = good.rsplit_once('$').unwrap().0.to_owned();
    let without_salt_and_output = without_output.rsplit_once('$').unwrap().0.to_owned();
    for bad in [
        String::new(),
        "not a hash".to_owned(),
        without_output,
        without_salt_and_output,
        good.replace("argon2id", "pbkdf2-sha256"),
        good.replace("v=19", "v=99"),
        good.replace("m=1024", "m=1"),
        good.replace("t=1", "t=0"),
        good.replace("p=1", "p=0"),
        format!("{good}$extra"),
        good.replace("v=19", "v=16").replace("argon2id", "scrypt"),
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW".to_owned(),
    ] {
        let outcome = hasher.verify(&secret("pw"), &PasswordHash(bad.clone())).await;
        assert!(matches!(outcome, Err(HashError::Malformed)), "{bad:?}: {outcome:?}");
    }
}

#[tokio::test]
async fn verify_dummy_accepts_any_password() {
    let hasher = hasher(CHEAP, 1);
    hasher.verify_dummy(&secret("anything")).await.unwrap();
    hasher.verify_dummy(&secret("")).await.unwrap();
}

/// Median of `runs` timings of `f`.
async fn median<F, Fut>(runs: usize, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        f().await;
        times.push(start.elapsed());
    }
    times.sort();
    times[runs / 2]
}

#[tokio::test]
async fn verify_dummy_takes_about_as_long_as_a_verification() {
    // Costly enough (tens of ms) that scheduling noise does not dominate.
    let params = Argon2Params {
        memory_kib: 8192,
        iterations: 2,
        parallelism: 1,
    };
    let hasher = hasher(params, 1);
    let stored = hasher.hash(&secret("real password")).await.unwrap();
    hasher.verify_dummy(&secret("warm-up")).await.unwrap(); // computes the dummy hash once

    let real = median(5, || async {
        hasher.verify(&secret("wrong password"), &stored).await.unwrap();
    })
    .await;
    let dummy = median(5, || async {
        hasher.verify_dummy(&secret("wrong password")).await.unwrap();
    })
    .await;
    let ratio = dummy.as_secs_f64() / real.as_secs_f64();
    assert!((1.0 / 3.0..3.0).contains(&ratio), "verify {real:?}, dummy {dummy:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashes_beyond_the_bound_wait_their_turn() {
    let params = Argon2Params {
        memory_kib: 4096,
        iterations: 1,
        parallelism: 1,
    };
    let hasher = Arc::new(hasher(params, 1));
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let hasher = hasher.clone();
            tokio::spawn(async move { hasher.hash(&secret(&format!("pw{i}"))).await })
        })
        .collect();
    // Sample how many run at once until all are done.
    let mut peak = 0;
    while !tasks.iter().all(tokio::task::JoinHandle::is_finished) {
        peak = peak.max(hasher.running());
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    assert_eq!(peak, 1, "max_concurrent = 1, yet {peak} hashes ran at once");

    let mut hashes = Vec::new();
    for task in tasks {
        hashes.push(task.await.unwrap().unwrap());
    }
    let distinct: std::collections::HashSet<&str> = hashes.iter().map(|h| h.0.as_str()).collect();
    assert_eq!(distinct.len(), 8);
    assert_eq!(hasher.running(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bound_is_the_configured_one() {
    let hasher = Arc::new(hasher(CHEAP, 3));
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let hasher = hasher.clone();
            tokio::spawn(async move { hasher.hash(&secret("pw")).await })
        })
        .collect();
    let mut peak = 0;
    while !tasks.iter().all(tokio::task::JoinHandle::is_finished) {
        peak = peak.max(hasher.running());
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    assert!(peak <= 3, "{peak} hashes ran at once");
    for task in tasks {
        task.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn a_closed_hasher_is_unavailable() {
    let hasher = hasher(CHEAP, 2);
    let stored = hasher.hash(&secret("pw")).await.unwrap();
    hasher.close();
    assert!(matches!(
        hasher.hash(&secret("pw")).await,
        Err(HashError::Unavailable(_))
    ));
    assert!(matches!(
        hasher.verify(&secret("pw"), &stored).await,
        Err(HashError::Unavailable(_))
    ));
    assert!(matches!(
        hasher.verify_dummy(&secret("pw")).await,
        Err(HashError::Unavailable(_))
    ));
}

#[tokio::test]
async fn invalid_costs_make_hashing_unavailable() {
    let hasher = hasher(
        Argon2Params {
            memory_kib: 8,
            iterations: 1,
            parallelism: 2,
        },
        1,
    );
    assert!(matches!(
        hasher.hash(&secret("pw")).await,
        Err(HashError::Unavailable(_))
    ));
}

#[tokio::test]
async fn builds_through_shaku_with_its_settings() {
    use shaku::HasComponent;
    shaku::module! {
        TestModule {
            components = [Argon2idHasher],
            providers = []
        }
    }
    let module = TestModule::builder()
        .with_component_parameters::<Argon2idHasher>(Argon2idHasherParameters {
            settings: HasherSettings {
                params: CHEAP,
                max_concurrent: 1,
            },
        })
        .build();
    let hasher: Arc<dyn PasswordHasher> = module.resolve();
    let hash = hasher.hash(&secret("pw")).await.unwrap();
    assert!(hash.0.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{}", hash.0);
    assert!(hasher.verify(&secret("pw"), &hash).await.unwrap());
    hasher.verify_dummy(&secret("pw")).await.unwrap();
}
