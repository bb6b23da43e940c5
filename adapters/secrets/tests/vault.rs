//! The Vault source against a real OpenBao dev server (KV v2 at `secret/`).

#![allow(clippy::unwrap_used, reason = "tests")]

mod common;

use std::time::Duration;

use common::{Vault, assert_gives_up_quickly, free_port, quick_retry, unique};
use platform_adapter_secrets::{VaultAuth, VaultPath, VaultSecretSource, VaultSettings};
use platform_ports::health::{HealthChecker, HealthStatus};
use platform_ports::model::SecretString;
use platform_ports::secrets::{SecretError, SecretSource};
use serde_json::json;

const KEYS: &[&str] = &["auth.jwt.secret", "auth.refresh_token_key", "database.dsn", "redis.url"];

fn token_source(vault: &Vault, paths: Vec<VaultPath>) -> VaultSecretSource {
    let mut settings = VaultSettings::new(&vault.addr, VaultAuth::Token(SecretString::new(&vault.token)));
    settings.paths = paths;
    VaultSecretSource::new(settings).unwrap()
}

#[tokio::test]
async fn reads_fields_as_keys_with_a_token() {
    let Some(vault) = Vault::find("reads_fields_as_keys_with_a_token").await else {
        return;
    };
    let (main, db) = (unique("main"), unique("db"));
    vault
        .write(
            &main,
            json!({ "auth.jwt.secret": "jwt-1", "auth": { "refresh_token_key": "rk-1" }, "unrelated": "x" }),
        )
        .await;
    vault.write(&db, json!({ "dsn": "postgres://app:pw@db/app" })).await;
    let source = token_source(
        &vault,
        vec![
            VaultPath::new(&main),
            VaultPath {
                path: db.clone(),
                prefix: Some("database".into()),
            },
        ],
    );

    let set = source.get_many(KEYS).await.unwrap();
    assert_eq!(
        set.keys().collect::<Vec<_>>(),
        ["auth.jwt.secret", "auth.refresh_token_key", "database.dsn"]
    );
    assert_eq!(set.get("auth.jwt.secret").unwrap().expose(), "jwt-1");
    assert_eq!(set.get("auth.refresh_token_key").unwrap().expose(), "rk-1");
    assert_eq!(set.get("database.dsn").unwrap().expose(), "postgres://app:pw@db/app");
    assert_eq!(
        set.entry("database.dsn").unwrap().version.as_deref(),
        Some(format!("secret/{db}@v1").as_str())
    );
    assert_eq!(source.get("auth.jwt.secret").await.unwrap().unwrap().expose(), "jwt-1");
    assert!(!format!("{set:?} {source:?}").contains("jwt-1"));

    vault.delete(&main).await;
    vault.delete(&db).await;
}

#[tokio::test]
async fn a_missing_key_or_path_is_absent_and_require_names_it() {
    let Some(vault) = Vault::find("a_missing_key_or_path_is_absent_and_require_names_it").await else {
        return;
    };
    let path = unique("missing");
    vault.write(&path, json!({ "auth.jwt.secret": "present" })).await;
    let source = token_source(
        &vault,
        vec![VaultPath::new(&path), VaultPath::new(unique("never-written"))],
    );

    assert!(source.get("redis.url").await.unwrap().is_none());
    let set = source.get_many(KEYS).await.unwrap();
    let err = set.require(source.name(), "redis.url").unwrap_err();
    assert!(matches!(err, SecretError::Missing { .. }));
    let message = err.to_string();
    assert!(
        message.contains("`redis.url`") && message.contains(&path) && message.starts_with("vault http://"),
        "{message}"
    );

    vault.delete(&path).await;
}

#[tokio::test]
async fn a_rotated_value_is_seen_on_the_next_read() {
    let Some(vault) = Vault::find("a_rotated_value_is_seen_on_the_next_read").await else {
        return;
    };
    let path = unique("rotate");
    vault
        .write(&path, json!({ "auth.jwt.secret": "old", "redis.url": "redis://r" }))
        .await;
    let source = token_source(&vault, vec![VaultPath::new(&path)]);
    let before = source.get_many(KEYS).await.unwrap();

    vault
        .write(&path, json!({ "auth.jwt.secret": "new", "redis.url": "redis://r" }))
        .await;
    let after = source.get_many(KEYS).await.unwrap();
    assert_eq!(after.get("auth.jwt.secret").unwrap().expose(), "new");
    assert_eq!(
        after.entry("auth.jwt.secret").unwrap().version.as_deref(),
        Some(format!("secret/{path}@v2").as_str())
    );
    // Only the rotated key changed, though both carry the new version.
    assert_eq!(after.changed_since(&before), ["auth.jwt.secret"]);

    vault.delete(&path).await;
}

#[tokio::test]
async fn reads_with_approle_and_logs_in_again_when_the_token_runs_out() {
    let Some(vault) = Vault::find("reads_with_approle_and_logs_in_again_when_the_token_runs_out").await else {
        return;
    };
    let (path, mount) = (unique("approle"), unique("approle-auth"));
    vault.write(&path, json!({ "auth.jwt.secret": "via-approle" })).await;
    // Tokens live 2 s and at most 3 s: the reads below cross a renewal and an expiry.
    let (role_id, secret_id) = vault.approle(&mount, &path, "2s", "3s").await;
    let auth = |secret_id: &str| VaultAuth::AppRole {
        mount: mount.clone(),
        role_id: role_id.clone(),
        secret_id: SecretString::new(secret_id),
    };
    let mut settings = VaultSettings::new(&vault.addr, auth(&secret_id));
    settings.paths = vec![VaultPath::new(&path)];
    let source = VaultSecretSource::new(settings.clone()).unwrap();

    for pause in [0, 1500, 2000] {
        tokio::time::sleep(Duration::from_millis(pause)).await;
        let value = source.get("auth.jwt.secret").await.unwrap();
        assert_eq!(value.unwrap().expose(), "via-approle", "after {pause} ms");
    }
    // The role's policy covers only its own path.
    let other = unique("not-allowed");
    vault.write(&other, json!({ "auth.jwt.secret": "hidden" })).await;
    let mut elsewhere = settings.clone();
    elsewhere.paths = vec![VaultPath::new(&other)];
    let err = VaultSecretSource::new(elsewhere)
        .unwrap()
        .get("auth.jwt.secret")
        .await
        .unwrap_err();
    assert!(matches!(err, SecretError::Denied { .. }), "{err:?}");

    settings.auth = auth("not-the-secret-id");
    let err = VaultSecretSource::new(settings)
        .unwrap()
        .get("auth.jwt.secret")
        .await
        .unwrap_err();
    assert!(
        matches!(err, SecretError::Denied { ref key, .. } if key == "auth.jwt.secret"),
        "{err:?}"
    );

    vault.drop_approle(&mount).await;
    vault.delete(&path).await;
    vault.delete(&other).await;
}

#[tokio::test]
async fn a_bad_token_is_refused_with_the_key_named() {
    let Some(vault) = Vault::find("a_bad_token_is_refused_with_the_key_named").await else {
        return;
    };
    let mut settings = VaultSettings::new(&vault.addr, VaultAuth::Token(SecretString::new("not-a-token")));
    settings.paths = vec![VaultPath::new(unique("any"))];
    let source = VaultSecretSource::new(settings).unwrap();
    let err = source.get_many(&["auth.jwt.secret", "database.dsn"]).await.unwrap_err();
    assert!(matches!(err, SecretError::Denied { .. }), "{err:?}");
    assert!(err.to_string().contains("`auth.jwt.secret`"), "{err}");
}

#[tokio::test]
async fn an_unreachable_store_fails_after_the_bounded_retry() {
    let addr = format!("http://127.0.0.1:{}", free_port());
    let mut settings = VaultSettings::new(&addr, VaultAuth::Token(SecretString::new("t")));
    settings.paths = vec![VaultPath::new("platform")];
    settings.retry = quick_retry();
    let source = VaultSecretSource::new(settings).unwrap();

    assert_gives_up_quickly(&source, "database.dsn", &addr).await;

    let status = source.health_checker().check().await.unwrap();
    assert!(
        matches!(status, HealthStatus::Degraded(ref why) if why.contains("unreachable")),
        "{status:?}"
    );
}

#[tokio::test]
async fn the_health_checker_is_up_with_a_working_token() {
    let Some(vault) = Vault::find("the_health_checker_is_up_with_a_working_token").await else {
        return;
    };
    let source = token_source(&vault, vec![VaultPath::new("anything")]);
    assert_eq!(source.health_checker().check().await.unwrap(), HealthStatus::Up);
}

#[test]
fn settings_errors_name_the_key() {
    let mut settings = VaultSettings::new("vault:8200", VaultAuth::Token(SecretString::new("t")));
    settings.paths = vec![VaultPath::new("p")];
    assert_eq!(
        VaultSecretSource::new(settings.clone()).unwrap_err().key,
        "secrets.vault.address"
    );
    settings.address = "http://vault:8200".into();
    settings.paths.clear();
    assert_eq!(
        VaultSecretSource::new(settings.clone()).unwrap_err().key,
        "secrets.vault.paths"
    );
    settings.paths = vec![VaultPath::new("p")];
    settings.ca_file = Some("/nonexistent/ca.pem".into());
    assert_eq!(
        VaultSecretSource::new(settings).unwrap_err().key,
        "secrets.vault.ca_file"
    );
}
