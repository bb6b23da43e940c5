//! The binary with its secrets in OpenBao (Vault KV v2) and in Secrets
//! Manager (moto): start-up, the missing-key and unreachable-store failures,
//! `config check`'s layers, and a live JWT key rotation.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use platform_adapter_secrets::{AwsCredentialsChain, AwsSecretsManagerSettings, SecretsManagerClient};
use serde_json::{Value, json};
use support::{ADMIN_PASSWORD, Running, http, login, platform, run, skip_or_fail, unique};

const JWT: &str = "vault-jwt-secret-0123456789abcdef0123456789abcdef";
const REFRESH: &str = "vault-refresh-key-0123456789abcdef0123456789abcd";

fn dsn() -> String {
    std::env::var("PLATFORM_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The OpenBao dev server: host:port, or `None` after a loud skip.
fn vault(test: &str) -> Option<String> {
    let addr = std::env::var("PLATFORM_TEST_VAULT_ADDR").unwrap_or_else(|_| "http://127.0.0.1:18200".into());
    let host = addr.trim_start_matches("http://").to_owned();
    match std::net::TcpStream::connect(&host) {
        Ok(_) if http(&host, "GET", "/v1/sys/health", &[], None).0 == 200 => Some(host),
        _ => {
            skip_or_fail(
                test,
                &format!("OpenBao not reachable at {addr} (.ci/services/openbao.sh)"),
            );
            None
        }
    }
}

fn vault_token() -> String {
    std::env::var("PLATFORM_TEST_VAULT_TOKEN").unwrap_or_else(|_| "root".into())
}

/// Writes `data` as the new version of `secret/<path>`.
fn vault_put(host: &str, path: &str, data: &Value) {
    let token = vault_token();
    let body = json!({ "data": data }).to_string();
    let (status, reply) = http(
        host,
        "POST",
        &format!("/v1/secret/data/{path}"),
        &[("X-Vault-Token", &token)],
        Some(&body),
    );
    assert_eq!(status, 200, "{reply}");
}

/// The platform reading its keys from `secret/<path>` (and the DSN from `secret/<db>`).
fn with_vault(host: &str, paths: &str) -> Command {
    let mut cmd = platform();
    cmd.env("PLATFORM__SECRETS__SOURCE", "vault")
        .env("PLATFORM__SECRETS__VAULT__ADDRESS", format!("http://{host}"))
        .env("PLATFORM__SECRETS__VAULT__TOKEN", vault_token())
        .env("PLATFORM__SECRETS__VAULT__PATHS", paths)
        .env(
            "PLATFORM__SECRETS__REQUIRED",
            "auth.jwt.secret,auth.refresh_token_key,database.dsn",
        )
        .env("PLATFORM__DATABASE__DRIVER", "postgres")
        .env("PLATFORM__DATABASE__MIGRATE_ON_START", "false");
    cmd
}

fn config_check(mut cmd: Command) -> Value {
    cmd.args(["config", "check"]);
    let (code, stdout, stderr) = run(cmd);
    assert_eq!(code, Some(0), "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

fn assert_no_secret_values(text: &str) {
    for value in [JWT, REFRESH, "postgres://"] {
        assert!(!text.contains(value), "a secret value was printed: {text}");
    }
}

#[test]
fn starts_with_keys_and_dsn_from_vault_and_config_check_names_the_layers() {
    let Some(host) = vault("vault start-up") else { return };
    let path = unique("platform-test/app");
    vault_put(
        &host,
        &path,
        &json!({ "auth.jwt.secret": JWT, "auth.refresh_token_key": REFRESH }),
    );
    let db = unique("platform-test/db");
    vault_put(&host, &db, &json!({ "dsn": dsn() }));
    let paths = format!("{path},{db}=database");

    let doc = config_check(with_vault(&host, &paths));
    let layers = &doc["layers"];
    assert_eq!(layers["auth.jwt.secret"], "secrets:vault", "{layers:#}");
    assert_eq!(layers["auth.refresh_token_key"], "secrets:vault");
    assert_eq!(layers["database.dsn"], "secrets:vault");
    assert_eq!(layers["database.driver"], "env");
    assert_eq!(layers["server.port"], "file", "test.yaml sets it");
    assert_eq!(layers["server.host"], "default");
    assert_eq!(
        doc["adapters"]["SecretSource"],
        "platform_adapter_secrets::VaultSecretSource"
    );
    assert_eq!(doc["health"]["secrets.vault"]["status"], "up", "{:#}", doc["health"]);
    assert_no_secret_values(&doc.to_string());

    let mut running = Running::start(with_vault(&host, &paths));
    let (status, body) = http(&running.addr, "GET", "/ready", &[], None);
    assert_eq!(status, 200, "PostgreSQL reached through the DSN from Vault: {body}");
    let logs = running.drain().join("\n");
    assert_no_secret_values(&logs);
}

#[test]
fn a_missing_key_stops_start_up_naming_it() {
    let Some(host) = vault("vault missing key") else { return };
    let path = unique("platform-test/partial");
    vault_put(&host, &path, &json!({ "auth.jwt.secret": JWT }));
    let (code, _, stderr) = run(with_vault(&host, &path));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("auth.refresh_token_key"), "{stderr}");
    assert!(stderr.contains("vault"), "{stderr}");
    assert_no_secret_values(&stderr);
}

#[test]
fn an_unreachable_store_stops_start_up_naming_the_store_and_key() {
    // Nothing listens on a port just released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = with_vault(&format!("127.0.0.1:{port}"), "platform/app");
    cmd.env("PLATFORM__SECRETS__ATTEMPTS", "2");
    let started = Instant::now();
    let (code, _, stderr) = run(cmd);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("unreachable"), "{stderr}");
    assert!(
        stderr.contains(&format!("127.0.0.1:{port}")),
        "names the store: {stderr}"
    );
    assert!(stderr.contains("secret `"), "names the key: {stderr}");
    assert!(started.elapsed() < Duration::from_secs(30), "the retry is bounded");
}

/// The moto endpoint and an admin client, or `None` after a loud skip.
fn moto(test: &str) -> Option<(String, SecretsManagerClient, tokio::runtime::Runtime)> {
    let endpoint = std::env::var("PLATFORM_TEST_AWS_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:15000".into());
    let settings = AwsSecretsManagerSettings {
        region: Some("us-east-1".into()),
        endpoint: Some(endpoint.clone()),
        ..AwsSecretsManagerSettings::default()
    };
    let chain = AwsCredentialsChain::with_vars(
        [
            ("AWS_ACCESS_KEY_ID".to_owned(), "AKIDTESTING".to_owned()),
            ("AWS_SECRET_ACCESS_KEY".to_owned(), "testing-secret".to_owned()),
        ]
        .into(),
    );
    let client = SecretsManagerClient::new(&settings, chain).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    match rt.block_on(client.call("ListSecrets", &json!({ "MaxResults": 1 }))) {
        Ok(_) => Some((endpoint, client, rt)),
        Err(err) => {
            skip_or_fail(
                test,
                &format!("moto not reachable at {endpoint} ({err}; .ci/services/moto.sh)"),
            );
            None
        }
    }
}

#[test]
fn starts_with_keys_and_dsn_from_secrets_manager() {
    let Some((endpoint, client, rt)) = moto("aws start-up") else {
        return;
    };
    let app = unique("platform-test-app");
    let value = json!({ "auth": { "jwt": { "secret": JWT }, "refresh_token_key": REFRESH } }).to_string();
    rt.block_on(client.call("CreateSecret", &json!({ "Name": app, "SecretString": value })))
        .unwrap();
    let db = unique("platform-test-dsn");
    rt.block_on(client.call("CreateSecret", &json!({ "Name": db, "SecretString": dsn() })))
        .unwrap();

    let command = || {
        let mut cmd = platform();
        cmd.env("PLATFORM__SECRETS__SOURCE", "files,aws")
            .env("PLATFORM__SECRETS__AWS__ENDPOINT", &endpoint)
            .env("PLATFORM__SECRETS__AWS__REGION", "us-east-1")
            .env("PLATFORM__SECRETS__AWS__SECRETS", format!("{app},{db}#database.dsn"))
            .env(
                "PLATFORM__SECRETS__REQUIRED",
                "auth.jwt.secret,auth.refresh_token_key,database.dsn",
            )
            .env("AWS_ACCESS_KEY_ID", "AKIDTESTING")
            .env("AWS_SECRET_ACCESS_KEY", "testing-secret")
            .env("PLATFORM__DATABASE__DRIVER", "postgres")
            .env("PLATFORM__DATABASE__MIGRATE_ON_START", "false");
        cmd
    };
    let doc = config_check(command());
    assert_eq!(doc["layers"]["auth.jwt.secret"], "secrets:aws", "{:#}", doc["layers"]);
    assert_eq!(doc["layers"]["database.dsn"], "secrets:aws");
    assert_no_secret_values(&doc.to_string());

    let running = Running::start(command());
    let (status, body) = http(&running.addr, "GET", "/ready", &[], None);
    assert_eq!(status, 200, "{body}");
}

fn me(addr: &str, token: &str) -> u16 {
    let bearer = format!("Bearer {token}");
    http(addr, "GET", "/api/v1/users/me", &[("Authorization", &bearer)], None).0
}

fn signed_with(token: &str, secret: &str) -> bool {
    use platform_adapter_crypto::{JwtAlgorithm, JwtCodec, JwtSettings};
    use platform_ports::auth::TokenCodec as _;
    let algorithm = JwtAlgorithm::Hs256 {
        secret: platform_ports::model::SecretString::new(secret),
    };
    let codec = JwtCodec::new(JwtSettings::new(algorithm, "platform", "platform-api")).unwrap();
    !matches!(codec.decode(token), Err(platform_ports::auth::TokenError::BadSignature))
}

#[test]
fn rotating_the_jwt_secret_in_vault_keeps_old_tokens_and_signs_new_ones_without_restart() {
    let Some(host) = vault("vault rotation") else { return };
    let path = unique("platform-test/rotate");
    vault_put(
        &host,
        &path,
        &json!({ "auth.jwt.secret": JWT, "auth.refresh_token_key": REFRESH }),
    );
    let mut cmd = platform();
    cmd.env("PLATFORM__SECRETS__SOURCE", "vault")
        .env("PLATFORM__SECRETS__VAULT__ADDRESS", format!("http://{host}"))
        .env("PLATFORM__SECRETS__VAULT__TOKEN", vault_token())
        .env("PLATFORM__SECRETS__VAULT__PATHS", &path)
        .env("PLATFORM__SECRETS__REFRESH_INTERVAL", "300ms")
        .env("PLATFORM__AUTH__ACCESS_TOKEN_TTL", "4s")
        .env("PLATFORM__ADMIN__EMAIL", "admin@example.com")
        .env("PLATFORM__ADMIN__PASSWORD", ADMIN_PASSWORD);
    let mut running = Running::start(cmd);
    let old = login(&running.addr);
    assert!(signed_with(&old, JWT));
    assert_eq!(me(&running.addr, &old), 200);

    let rotated = "rotated-jwt-secret-0123456789abcdef0123456789abcd";
    vault_put(
        &host,
        &path,
        &json!({ "auth.jwt.secret": rotated, "auth.refresh_token_key": REFRESH }),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let new = loop {
        let token = login(&running.addr);
        if signed_with(&token, rotated) {
            break token;
        }
        assert!(Instant::now() < deadline, "new tokens never used the rotated key");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(me(&running.addr, &new), 200, "new tokens verify");
    assert_eq!(
        me(&running.addr, &old),
        200,
        "tokens issued before the rotation still work"
    );
    let logs = running.drain().join("\n");
    assert!(logs.contains("secret rotated"), "{logs}");
    assert!(
        !logs.contains(rotated) && !logs.contains(JWT),
        "no secret value is logged"
    );
    // Past one access-token lifetime the old token has expired anyway and
    // the previous key is retired.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(me(&running.addr, &old), 401);
}
