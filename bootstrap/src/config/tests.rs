use std::collections::HashMap;
use std::fs;

use super::*;

fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in files {
        fs::write(dir.path().join(name), body).unwrap();
    }
    dir
}

fn opts(dir: &tempfile::TempDir, env: Option<Environment>, vars: &[(&str, &str)]) -> LoadOptions {
    LoadOptions {
        config_dir: Some(dir.path().to_path_buf()),
        environment: env,
        vars: Some(
            vars.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<HashMap<_, _>>(),
        ),
    }
}

const SECRET: &str = "auth:\n  refresh_token_key: \"fedcba9876543210fedcba9876543210\"\n  jwt:\n    secret: \"0123456789abcdef0123456789abcdef\"\n";

#[test]
fn embedded_defaults_apply_without_files() {
    let dir = dir_with(&[("default.yaml", SECRET)]);
    let loaded = load(&opts(&dir, Some(Environment::Development), &[])).unwrap();
    assert_eq!(loaded.settings.server.port, 8080);
    assert_eq!(loaded.settings.database.max_connections, 25);
    assert_eq!(loaded.settings.cache.ttl, std::time::Duration::from_secs(300));
}

#[test]
fn environment_file_overrides_default_file() {
    let dir = dir_with(&[
        (
            "default.yaml",
            &format!("{SECRET}server:\n  port: 7000\n  host: 127.0.0.1\n"),
        ),
        ("test.yaml", "server:\n  port: 7001\n"),
    ]);
    let loaded = load(&opts(&dir, Some(Environment::Test), &[])).unwrap();
    assert_eq!(loaded.settings.server.port, 7001);
    assert_eq!(loaded.settings.server.host, "127.0.0.1");
    assert_eq!(loaded.settings.environment, Environment::Test);
}

#[test]
fn environment_comes_from_platform_env() {
    let dir = dir_with(&[("default.yaml", SECRET), ("test.yaml", "server:\n  port: 7002\n")]);
    let loaded = load(&opts(&dir, None, &[("PLATFORM_ENV", "test")])).unwrap();
    assert_eq!(loaded.settings.server.port, 7002);
    let err = load(&opts(&dir, None, &[("PLATFORM_ENV", "staging")])).unwrap_err();
    assert_eq!(err.key.as_deref(), Some("environment"));
}

#[test]
fn env_var_overrides_files() {
    let dir = dir_with(&[
        ("default.yaml", SECRET),
        ("development.yaml", "server:\n  port: 7003\n"),
    ]);
    let loaded = load(&opts(
        &dir,
        Some(Environment::Development),
        &[
            ("PLATFORM__SERVER__PORT", "9000"),
            ("PLATFORM__DATABASE__MAX_CONNECTIONS", "7"),
            ("PLATFORM__SERVER__TIMEOUT", "3s"),
        ],
    ))
    .unwrap();
    assert_eq!(loaded.settings.server.port, 9000);
    assert_eq!(loaded.settings.database.max_connections, 7);
    assert_eq!(loaded.settings.server.timeout, std::time::Duration::from_secs(3));
    assert_eq!(loaded.provider.get_int("server.port").unwrap(), 9000);
}

#[test]
fn bad_value_names_the_key() {
    let dir = dir_with(&[("default.yaml", SECRET)]);
    for (var, value, key) in [
        ("PLATFORM__SERVER__PORT", "not-a-port", "server.port"),
        ("PLATFORM__SERVER__PORT", "70000", "server.port"),
        ("PLATFORM__SERVER__TIMEOUT", "soon", "server.timeout"),
        ("PLATFORM__DATABASE__DRIVER", "oracle", "database.driver"),
        ("PLATFORM__LOGGING__LEVEL", "info,[", "logging.level"),
        (
            "PLATFORM__DATABASE__MAX_IDLE_CONNECTIONS",
            "99",
            "database.max_idle_connections",
        ),
    ] {
        let err = load(&opts(&dir, Some(Environment::Development), &[(var, value)])).unwrap_err();
        assert_eq!(err.key.as_deref(), Some(key), "{var}={value}: {err}");
        assert!(err.to_string().contains(key), "message must name the key: {err}");
    }
}

#[test]
fn bad_value_in_a_file_names_the_key() {
    let dir = dir_with(&[("default.yaml", &format!("{SECRET}server:\n  port: eighty\n"))]);
    let err = load(&opts(&dir, Some(Environment::Development), &[])).unwrap_err();
    assert_eq!(err.key.as_deref(), Some("server.port"), "{err}");
}

#[test]
fn short_jwt_secret_is_refused() {
    let dir = dir_with(&[(
        "default.yaml",
        "auth:\n  refresh_token_key: \"fedcba9876543210fedcba9876543210\"\n  jwt:\n    secret: short\n",
    )]);
    let err = load(&opts(&dir, Some(Environment::Development), &[])).unwrap_err();
    assert_eq!(err.key.as_deref(), Some("auth.jwt.secret"));
}

#[test]
fn production_refuses_in_memory_persistence_unless_allowed() {
    let dir = dir_with(&[
        ("default.yaml", SECRET),
        (
            "production.yaml",
            "database:\n  driver: memory\nscheduler:\n  driver: memory\n",
        ),
    ]);
    let err = load(&opts(&dir, Some(Environment::Production), &[])).unwrap_err();
    assert_eq!(err.key.as_deref(), Some("database.driver"), "{err}");
    let ok = load(&opts(
        &dir,
        Some(Environment::Production),
        &[("PLATFORM__ALLOW_IN_MEMORY", "true")],
    ));
    assert!(ok.is_ok(), "{:?}", ok.err());
}

#[test]
fn secrets_never_print() {
    let dir = dir_with(&[("default.yaml", SECRET)]);
    let loaded = load(&opts(
        &dir,
        Some(Environment::Development),
        &[("PLATFORM__DATABASE__DSN", "postgres://u:hunter2@h/db")],
    ))
    .unwrap();
    let debug = format!("{:?}", loaded.settings);
    let json = serde_json::to_string(&loaded.settings).unwrap();
    for text in [debug, json] {
        assert!(!text.contains("hunter2"), "secret leaked");
        assert!(!text.contains("0123456789abcdef"), "secret leaked");
    }
}

#[test]
fn provider_reads_module_keys() {
    let dir = dir_with(&[(
        "default.yaml",
        &format!("{SECRET}blog:\n  page_size: 20\n  tags: [a, b]\n  cache_for: 90s\n  enabled: true\n"),
    )]);
    let loaded = load(&opts(&dir, Some(Environment::Development), &[])).unwrap();
    let p = &loaded.provider;
    assert_eq!(p.get_int("blog.page_size").unwrap(), 20);
    assert_eq!(p.get_string_slice("blog.tags").unwrap(), vec!["a", "b"]);
    assert_eq!(
        p.get_duration("blog.cache_for").unwrap(),
        std::time::Duration::from_secs(90)
    );
    assert!(p.get_bool("blog.enabled").unwrap());
    assert!(p.is_set("blog.page_size"));
    assert!(!p.is_set("blog.missing"));
    assert_eq!(p.get_string("server.host").unwrap(), "127.0.0.1");
    #[derive(serde::Deserialize)]
    struct Blog {
        page_size: u32,
    }
    assert_eq!(p.unmarshal::<Blog>("blog").unwrap().page_size, 20);
    assert_eq!(
        p.get_int("blog.missing").unwrap_err().key.as_deref(),
        Some("blog.missing")
    );
}

#[test]
fn environment_strings_that_look_like_numbers_keep_their_text() {
    let loaded = load(&LoadOptions {
        config_dir: None,
        environment: Some(Environment::Test),
        vars: Some(
            [
                ("PLATFORM__SMS__TWILIO__FROM", "+15550000001"),
                ("PLATFORM__ADMIN__PASSWORD", "000123456789012"),
                ("PLATFORM__SERVER__PORT", "8089"),
                ("PLATFORM__SCHEDULER__WORKERS", "false"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        ),
    })
    .unwrap();
    assert_eq!(loaded.settings.sms.twilio.from, "+15550000001");
    assert_eq!(loaded.settings.admin.password.expose(), "000123456789012");
    // Typed fields still parse from the same strings.
    assert_eq!(loaded.settings.server.port, 8089);
    assert!(!loaded.settings.scheduler.workers);
}

#[test]
fn the_relay_lease_must_outlast_a_kafka_publish() {
    let dir = dir_with(&[("default.yaml", SECRET)]);
    let kafka = [
        ("PLATFORM__EVENT_BUS__DRIVER", "kafka"),
        ("PLATFORM__KAFKA__PUBLISH_TIMEOUT", "30s"),
        ("PLATFORM__OUTBOX__RELAY__LEASE", "30s"),
    ];
    let err = load(&opts(&dir, Some(Environment::Development), &kafka)).unwrap_err();
    assert_eq!(err.key.as_deref(), Some("outbox.relay.lease"), "{err}");
    assert!(err.to_string().contains("kafka.publish_timeout"), "{err}");
    // The in-process bus has no such timeout to outlast.
    let ok = load(&opts(&dir, Some(Environment::Development), &kafka[1..]));
    assert!(ok.is_ok(), "{:?}", ok.err());
    let longer = [kafka[0], kafka[1], ("PLATFORM__OUTBOX__RELAY__LEASE", "31s")];
    let ok = load(&opts(&dir, Some(Environment::Development), &longer));
    assert!(ok.is_ok(), "{:?}", ok.err());
}

#[test]
fn the_digest_schedule_is_checked_when_the_digest_is_on() {
    let dir = dir_with(&[("default.yaml", SECRET)]);
    let loaded = load(&opts(&dir, Some(Environment::Development), &[])).unwrap();
    assert!(loaded.settings.digest.enabled);
    assert_eq!(loaded.settings.digest.schedule, "0 0 8 * * MON");
    let bad = [("PLATFORM__DIGEST__SCHEDULE", "every monday")];
    let err = load(&opts(&dir, Some(Environment::Development), &bad)).unwrap_err();
    assert_eq!(err.key.as_deref(), Some("digest.schedule"), "{err}");
    assert!(err.to_string().contains("every monday"), "{err}");
    let off = [bad[0], ("PLATFORM__DIGEST__ENABLED", "false")];
    let ok = load(&opts(&dir, Some(Environment::Development), &off));
    assert!(ok.is_ok(), "{:?}", ok.err());
}
