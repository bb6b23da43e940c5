//! What the store tests share: finding OpenBao and moto (or skipping loudly),
//! unique names, and direct admin calls that set up and clean up behind the
//! adapter's back.

#![allow(
    dead_code,
    clippy::unwrap_used,
    reason = "test support: each test binary uses part of it, and a failed unwrap is a failed test"
)]

use std::collections::HashMap;
use std::io::Write as _;
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use platform_adapter_secrets::{
    AwsCredentialsChain, AwsSecret, AwsSecretsManagerSettings, RetryPolicy, SecretsManagerClient,
};
use platform_ports::secrets::{SecretError, SecretSource};
use serde_json::{Value, json};

/// Whether this run is CI, where a missing server fails instead of skipping.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Fails in CI, prints a loud skip notice otherwise.
pub fn skip_or_fail(test: &str, reason: &str) {
    assert!(!in_ci(), "CI=true and {test}: {reason}");
    // Straight to the stream: libtest swallows `eprintln!` of passing tests.
    let _ = writeln!(std::io::stderr(), "\n*** SKIPPED: {test}: {reason} ***\n");
}

/// A name no other test (or earlier run) uses.
pub fn unique(name: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!(
        "test-{name}-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A local port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A short retry, so the unreachable-store tests stay quick.
pub fn quick_retry() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(100),
    }
}

/// Reads `key` from `source` (whose address is `addr`, where nothing
/// listens) and checks the bounded retry: three attempts, quickly, then an
/// error naming the store and the key.
pub async fn assert_gives_up_quickly(source: &dyn SecretSource, key: &'static str, addr: &str) -> SecretError {
    let started = Instant::now();
    let err = source.get_many(&[key]).await.unwrap_err();
    let SecretError::Unreachable {
        ref store,
        key: ref named,
        attempts,
        ..
    } = err
    else {
        panic!("expected Unreachable, got {err:?}");
    };
    assert_eq!((named.as_str(), attempts), (key, 3));
    assert!(store.contains(addr), "{store}");
    // Two waits of 50 and 100 ms, then the error: bounded, not a hang.
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert!(err.to_string().contains("gave up after 3 attempts"), "{err}");
    err
}

// ---------------------------------------------------------------- OpenBao / Vault

/// The dev server (`.ci/services/openbao.sh`) and its root token.
pub struct Vault {
    pub addr: String,
    pub token: String,
    http: Client<HttpConnector, Full<Bytes>>,
}

impl Vault {
    /// The test server, or `None` after a loud skip (a failure in CI).
    pub async fn find(test: &str) -> Option<Self> {
        let addr = std::env::var("PLATFORM_TEST_VAULT_ADDR").unwrap_or_else(|_| "http://127.0.0.1:18200".into());
        let token = std::env::var("PLATFORM_TEST_VAULT_TOKEN").unwrap_or_else(|_| "root".into());
        let http = Client::builder(TokioExecutor::new()).build_http();
        let vault = Self { addr, token, http };
        let request = Request::get(format!("{}/v1/sys/health", vault.addr))
            .body(Full::default())
            .unwrap();
        let probe = tokio::time::timeout(Duration::from_secs(5), vault.http.request(request)).await;
        match probe {
            Ok(Ok(r)) if r.status().is_success() => Some(vault),
            other => {
                let why = match other {
                    Ok(Ok(r)) => format!("HTTP {}", r.status()),
                    Ok(Err(e)) => e.to_string(),
                    Err(_) => "no answer within 5 s".to_owned(),
                };
                skip_or_fail(
                    test,
                    &format!(
                        "OpenBao/Vault not reachable at {} ({why}; start it with .ci/services/openbao.sh)",
                        vault.addr
                    ),
                );
                None
            }
        }
    }

    /// An admin call with the root token; panics unless it succeeds.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let request = Request::builder()
            .method(method.clone())
            .uri(format!("{}/v1/{path}", self.addr))
            .header("X-Vault-Token", &self.token)
            .body(Full::new(Bytes::from(body.map(|b| b.to_string()).unwrap_or_default())))
            .unwrap();
        let response = self.http.request(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        }
    }

    /// Writes a new version of `secret/{path}`.
    pub async fn write(&self, path: &str, data: Value) {
        self.call(
            Method::POST,
            &format!("secret/data/{path}"),
            Some(json!({ "data": data })),
        )
        .await;
    }

    /// Deletes every version of `secret/{path}`.
    pub async fn delete(&self, path: &str) {
        self.call(Method::DELETE, &format!("secret/metadata/{path}"), None)
            .await;
    }

    /// Enables AppRole at `mount` with a role that may read `secret/{path}`;
    /// returns its role id and a fresh secret id.
    pub async fn approle(&self, mount: &str, path: &str, token_ttl: &str, token_max_ttl: &str) -> (String, String) {
        self.call(
            Method::POST,
            &format!("sys/auth/{mount}"),
            Some(json!({ "type": "approle" })),
        )
        .await;
        let policy = format!("path \"secret/data/{path}\" {{ capabilities = [\"read\"] }}");
        self.call(
            Method::PUT,
            &format!("sys/policies/acl/{mount}"),
            Some(json!({ "policy": policy })),
        )
        .await;
        self.call(
            Method::POST,
            &format!("auth/{mount}/role/app"),
            Some(json!({ "token_policies": [mount], "token_ttl": token_ttl, "token_max_ttl": token_max_ttl })),
        )
        .await;
        let role = self
            .call(Method::GET, &format!("auth/{mount}/role/app/role-id"), None)
            .await;
        let secret = self
            .call(
                Method::POST,
                &format!("auth/{mount}/role/app/secret-id"),
                Some(json!({})),
            )
            .await;
        (
            role["data"]["role_id"].as_str().unwrap().to_owned(),
            secret["data"]["secret_id"].as_str().unwrap().to_owned(),
        )
    }

    /// Removes what [`Vault::approle`] created.
    pub async fn drop_approle(&self, mount: &str) {
        self.call(Method::DELETE, &format!("sys/auth/{mount}"), None).await;
        self.call(Method::DELETE, &format!("sys/policies/acl/{mount}"), None)
            .await;
    }
}

// ---------------------------------------------------------------- moto / Secrets Manager

/// Credentials moto accepts (it checks that requests are signed, not by whom).
pub fn test_chain() -> AwsCredentialsChain {
    AwsCredentialsChain::with_vars(HashMap::from([
        ("AWS_ACCESS_KEY_ID".to_owned(), "AKIDTESTING".to_owned()),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), "testing-secret".to_owned()),
    ]))
}

/// Settings for `secrets` on the test endpoint.
pub fn aws_settings(endpoint: &str, secrets: Vec<AwsSecret>) -> AwsSecretsManagerSettings {
    AwsSecretsManagerSettings {
        region: Some("us-east-1".to_owned()),
        endpoint: Some(endpoint.to_owned()),
        secrets,
        ..AwsSecretsManagerSettings::default()
    }
}

/// The moto endpoint and an admin client, or `None` after a loud skip.
pub async fn moto(test: &str) -> Option<(String, SecretsManagerClient)> {
    let endpoint = std::env::var("PLATFORM_TEST_AWS_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:15000".into());
    let client = SecretsManagerClient::new(&aws_settings(&endpoint, vec![]), test_chain()).unwrap();
    match client.call("ListSecrets", &json!({ "MaxResults": 1 })).await {
        Ok(_) => Some((endpoint, client)),
        Err(err) => {
            skip_or_fail(
                test,
                &format!(
                    "Secrets Manager endpoint not reachable at {endpoint} ({err}; start moto with .ci/services/moto.sh)"
                ),
            );
            None
        }
    }
}
