//! The Secrets Manager source against a real AWS-compatible endpoint (moto).

#![allow(clippy::unwrap_used, reason = "tests")]

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::{assert_gives_up_quickly, aws_settings, free_port, moto, quick_retry, test_chain, unique};
use platform_adapter_secrets::{AwsSecret, AwsSecretsManagerSource, SecretsManagerClient};
use platform_ports::health::{HealthChecker, HealthStatus};
use platform_ports::secrets::{SecretError, SecretSource};
use serde_json::{Value, json};

const KEYS: &[&str] = &[
    "auth.jwt.secret",
    "auth.refresh_token_key",
    "database.dsn",
    "redis.url",
    "blob.signing_key",
];

async fn create(client: &SecretsManagerClient, name: &str, value: Value) -> String {
    let mut body = json!({ "Name": name });
    body.as_object_mut().unwrap().extend(value.as_object().unwrap().clone());
    let reply = client.call("CreateSecret", &body).await.unwrap();
    reply["VersionId"].as_str().unwrap().to_owned()
}

async fn delete(client: &SecretsManagerClient, name: &str) {
    client
        .call(
            "DeleteSecret",
            &json!({ "SecretId": name, "ForceDeleteWithoutRecovery": true }),
        )
        .await
        .unwrap();
}

fn source(endpoint: &str, secrets: Vec<AwsSecret>) -> AwsSecretsManagerSource {
    AwsSecretsManagerSource::new(aws_settings(endpoint, secrets), test_chain()).unwrap()
}

#[tokio::test]
async fn a_json_secrets_fields_are_keys() {
    let Some((endpoint, admin)) = moto("a_json_secrets_fields_are_keys").await else {
        return;
    };
    let (app, db) = (unique("app"), unique("db"));
    let payload = json!({ "auth.jwt.secret": "jwt-aws", "auth": { "refresh_token_key": "rk-aws" }, "other": 1 });
    let version = create(&admin, &app, json!({ "SecretString": payload.to_string() })).await;
    create(
        &admin,
        &db,
        json!({ "SecretString": json!({ "dsn": "postgres://aws" }).to_string() }),
    )
    .await;
    let source = source(
        &endpoint,
        vec![
            AwsSecret::new(&app),
            AwsSecret {
                prefix: Some("database".into()),
                ..AwsSecret::new(&db)
            },
        ],
    );

    let set = source.get_many(KEYS).await.unwrap();
    assert_eq!(
        set.keys().collect::<Vec<_>>(),
        ["auth.jwt.secret", "auth.refresh_token_key", "database.dsn"]
    );
    assert_eq!(set.get("auth.jwt.secret").unwrap().expose(), "jwt-aws");
    assert_eq!(set.get("auth.refresh_token_key").unwrap().expose(), "rk-aws");
    assert_eq!(set.get("database.dsn").unwrap().expose(), "postgres://aws");
    assert_eq!(
        set.entry("auth.jwt.secret").unwrap().version,
        Some(format!("{app}@{version}"))
    );
    assert!(!format!("{set:?}").contains("jwt-aws"));

    delete(&admin, &app).await;
    delete(&admin, &db).await;
}

#[tokio::test]
async fn awscurrent_is_read_again_after_a_put() {
    let Some((endpoint, admin)) = moto("awscurrent_is_read_again_after_a_put").await else {
        return;
    };
    let name = unique("rotate");
    create(
        &admin,
        &name,
        json!({ "SecretString": json!({ "auth.jwt.secret": "v1", "redis.url": "redis://r" }).to_string() }),
    )
    .await;
    let source = source(&endpoint, vec![AwsSecret::new(&name)]);
    let before = source.get_many(KEYS).await.unwrap();
    assert_eq!(before.get("auth.jwt.secret").unwrap().expose(), "v1");

    let put = admin
        .call(
            "PutSecretValue",
            &json!({ "SecretId": name, "SecretString": json!({ "auth.jwt.secret": "v2", "redis.url": "redis://r" }).to_string() }),
        )
        .await
        .unwrap();
    let after = source.get_many(KEYS).await.unwrap();
    assert_eq!(after.get("auth.jwt.secret").unwrap().expose(), "v2");
    let new_version = put["VersionId"].as_str().unwrap();
    assert_eq!(
        after.entry("auth.jwt.secret").unwrap().version,
        Some(format!("{name}@{new_version}"))
    );
    assert_eq!(after.changed_since(&before), ["auth.jwt.secret"]);

    delete(&admin, &name).await;
}

#[tokio::test]
async fn whole_secrets_fill_one_key_binary_as_text_or_base64() {
    let Some((endpoint, admin)) = moto("whole_secrets_fill_one_key_binary_as_text_or_base64").await else {
        return;
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let (plain, text_bin, raw_bin) = (unique("plain"), unique("textbin"), unique("rawbin"));
    let key_bytes = [0u8, 159, 146, 150, 255];
    create(&admin, &plain, json!({ "SecretString": "redis://:pw@cache" })).await;
    create(
        &admin,
        &text_bin,
        json!({ "SecretBinary": b64.encode("jwt-from-binary") }),
    )
    .await;
    create(&admin, &raw_bin, json!({ "SecretBinary": b64.encode(key_bytes) })).await;
    let whole = |id: &str, key: &str| AwsSecret {
        key: Some(key.into()),
        ..AwsSecret::new(id)
    };
    let source = source(
        &endpoint,
        vec![
            whole(&plain, "redis.url"),
            whole(&text_bin, "auth.jwt.secret"),
            whole(&raw_bin, "blob.signing_key"),
        ],
    );

    let set = source.get_many(KEYS).await.unwrap();
    assert_eq!(set.get("redis.url").unwrap().expose(), "redis://:pw@cache");
    assert_eq!(set.get("auth.jwt.secret").unwrap().expose(), "jwt-from-binary");
    assert_eq!(
        b64.decode(set.get("blob.signing_key").unwrap().expose()).unwrap(),
        key_bytes
    );

    // Without a `key`, a plain-text secret has no fields to map: the error says so.
    let err = self::source(&endpoint, vec![AwsSecret::new(&plain)])
        .get("redis.url")
        .await
        .unwrap_err();
    assert!(
        matches!(err, SecretError::Unreadable { ref key, .. } if key == "redis.url"),
        "{err:?}"
    );

    for name in [plain, text_bin, raw_bin] {
        delete(&admin, &name).await;
    }
}

#[tokio::test]
async fn a_missing_secret_or_key_is_absent_and_require_names_it() {
    let Some((endpoint, admin)) = moto("a_missing_secret_or_key_is_absent_and_require_names_it").await else {
        return;
    };
    let name = unique("partial");
    create(
        &admin,
        &name,
        json!({ "SecretString": json!({ "auth.jwt.secret": "x" }).to_string() }),
    )
    .await;
    let source = source(
        &endpoint,
        vec![AwsSecret::new(unique("never-created")), AwsSecret::new(&name)],
    );

    let set = source.get_many(KEYS).await.unwrap();
    assert_eq!(set.keys().collect::<Vec<_>>(), ["auth.jwt.secret"]);
    let err = set.require(source.name(), "database.dsn").unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("aws-secrets-manager ") && message.contains("`database.dsn`"),
        "{message}"
    );

    delete(&admin, &name).await;
}

#[tokio::test]
async fn the_health_checker_describes_the_first_secret() {
    let Some((endpoint, admin)) = moto("the_health_checker_describes_the_first_secret").await else {
        return;
    };
    let name = unique("health");
    create(&admin, &name, json!({ "SecretString": "{}" })).await;
    assert_eq!(
        source(&endpoint, vec![AwsSecret::new(&name)])
            .health_checker()
            .check()
            .await
            .unwrap(),
        HealthStatus::Up
    );
    delete(&admin, &name).await;
    let gone = source(&endpoint, vec![AwsSecret::new(&name)])
        .health_checker()
        .check()
        .await
        .unwrap();
    assert!(
        matches!(gone, HealthStatus::Degraded(ref why) if why.contains("ResourceNotFound")),
        "{gone:?}"
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_fails_after_the_bounded_retry() {
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let mut settings = aws_settings(&endpoint, vec![AwsSecret::new("platform/prod")]);
    settings.retry = quick_retry();
    settings.timeout = Duration::from_secs(1);
    let source = AwsSecretsManagerSource::new(settings, test_chain()).unwrap();

    assert_gives_up_quickly(&source, "auth.jwt.secret", &endpoint).await;
    let status = source.health_checker().check().await.unwrap();
    assert!(matches!(status, HealthStatus::Degraded(_)), "{status:?}");
}

#[test]
fn no_region_anywhere_is_a_settings_error() {
    let chain = platform_adapter_secrets::AwsCredentialsChain::with_vars(
        [("HOME".to_owned(), "/nonexistent".to_owned())].into_iter().collect(),
    );
    let mut settings = aws_settings("http://127.0.0.1:1", vec![AwsSecret::new("x")]);
    settings.region = None;
    assert_eq!(
        AwsSecretsManagerSource::new(settings, chain).unwrap_err().key,
        "secrets.aws.region"
    );
}
