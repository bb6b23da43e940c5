//! Readiness follows PostgreSQL down and back up, with no new pool.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use platform_adapter_postgres::{PgDatabase, PgHealthChecker, PgSettings};
use platform_ports::health::{HealthChecker, HealthStatus};
use platform_ports::model::SecretString;
use sqlx::postgres::PgConnectOptions;

use crate::support::proxy::Proxy;
use crate::support::{TestSchema, database_url};

/// Settings for a DSN whose host and port are replaced by `127.0.0.1:port`.
fn settings_via(port: u16) -> PgSettings {
    let options: PgConnectOptions = database_url().parse().unwrap();
    let user = options.get_username().to_owned();
    let database = options.get_database().unwrap_or("postgres").to_owned();
    PgSettings {
        min_connections: 0,
        acquire_timeout: Duration::from_secs(1),
        // The pool's own behaviour, in a database no migration ran in: the
        // app role may not exist there yet.
        app_role: String::new(),
        ..PgSettings::new(SecretString::new(format!(
            "postgres://{user}@127.0.0.1:{port}/{database}"
        )))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_check_fails_against_a_closed_port() {
    // Bound then released: nothing listens there any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let db = PgDatabase::connect_lazy(&settings_via(port), None).unwrap();
    let checker = PgHealthChecker::new(db, Duration::from_secs(3));
    let started = Instant::now();
    assert!(checker.check().await.is_err());
    assert!(started.elapsed() < Duration::from_secs(4), "the check was not bounded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_check_follows_an_outage_and_the_pool_recovers() {
    let Some(schema) = TestSchema::create().await else {
        return;
    };
    let options: PgConnectOptions = database_url().parse().unwrap();
    let upstream: SocketAddr = tokio::net::lookup_host((options.get_host(), options.get_port()))
        .await
        .unwrap()
        .next()
        .unwrap();
    let proxy = Proxy::start(0, upstream).await;
    let port = proxy.port();
    let db = PgDatabase::connect(&settings_via(port), None).await.unwrap();
    let checker = PgHealthChecker::new(db.clone(), Duration::from_secs(3));
    assert_eq!(checker.check().await.unwrap(), HealthStatus::Up);

    proxy.stop().await;
    assert!(checker.check().await.is_err(), "up while PostgreSQL is unreachable");

    let proxy = Proxy::start(port, upstream).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match checker.check().await {
            Ok(status) => {
                assert_eq!(status, HealthStatus::Up);
                break;
            }
            Err(err) if Instant::now() < deadline => {
                eprintln!("not back yet: {err}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(err) => panic!("the pool did not recover: {err}"),
        }
    }
    // The same pool serves queries again.
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(db.pool()).await.unwrap();
    assert_eq!(one, 1);
    proxy.stop().await;
    drop(schema);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_dsn_is_used_for_new_connections_only() {
    let Some(_schema) = TestSchema::create().await else {
        return;
    };
    let options: PgConnectOptions = database_url().parse().unwrap();
    let port = options.get_port();
    let before = PgSettings {
        application_name: "before-rotation".into(),
        max_connections: 1,
        ..settings_via(port)
    };
    let db = PgDatabase::connect(&before, None).await.unwrap();
    let name = |db: &PgDatabase| {
        let pool = db.pool().clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT current_setting('application_name')")
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(name(&db).await, "before-rotation");
    // A DSN naming a database that does not exist: new connections fail,
    // the open one keeps serving.
    let broken = PgSettings {
        application_name: "after-rotation".into(),
        dsn: SecretString::new(format!(
            "postgres://{}@127.0.0.1:{port}/no_such_database_for_rotation",
            options.get_username()
        )),
        ..before.clone()
    };
    db.rotate_dsn(&broken).unwrap();
    assert_eq!(name(&db).await, "before-rotation", "an open connection is not cut");
    let rotated = PgSettings {
        application_name: "after-rotation".into(),
        ..before.clone()
    };
    db.rotate_dsn(&rotated).unwrap();
    // Closing the pool's connection makes the next query open a new one.
    let mut conn = db.pool().acquire().await.unwrap();
    conn.close_on_drop();
    drop(conn);
    assert_eq!(name(&db).await, "after-rotation", "new connections use the rotated DSN");
    assert!(db.rotate_dsn(&PgSettings::new(SecretString::new("not a dsn"))).is_err());
}
