//! Per-app isolation on shared infrastructure: with `database.driver:
//! postgres` each app gets its own schema (created here, migrated by the
//! platform at start-up, dropped when the app is dropped); with any cache,
//! its own key namespace; with `scheduler.driver: redis`, a Redis database of
//! its own for the job queue ([`QueueDb`]); on Kafka, consumer groups and
//! topics of its own. So the same suites run side by side on one PostgreSQL, one Redis and
//! one broker, exactly as they run in memory.

use platform_bootstrap::config::{DatabaseDriver, SchedulerDriver, Settings};
use platform_ports::model::SecretString;
use sqlx::{AssertSqlSafe, Connection, PgConnection};

use crate::queue_db::QueueDb;

/// Drops the app's schema and gives back its queue database on drop.
pub(crate) struct Isolation {
    schema: Option<(String, String)>,
    queue_db: Option<QueueDb>,
}

impl Isolation {
    /// Owns nothing (an instance sharing another's schema and queue).
    pub(crate) fn none() -> Self {
        Self {
            schema: None,
            queue_db: None,
        }
    }

    /// Gives `settings` a fresh schema, cache namespace and queue database.
    pub(crate) async fn prepare(settings: &mut Settings) -> anyhow::Result<Self> {
        let id = uuid::Uuid::now_v7().simple().to_string();
        settings.cache.namespace = format!("t-{id}");
        let queue_db = if settings.scheduler.driver == SchedulerDriver::Redis {
            let url = if settings.scheduler.redis_url.is_empty() {
                settings.redis.url.expose().to_owned()
            } else {
                settings.scheduler.redis_url.expose().to_owned()
            };
            let db = QueueDb::lease(&url).await?;
            settings.scheduler.redis_url = SecretString::new(db.url(&url));
            Some(db)
        } else {
            None
        };
        // Consumer groups of their own: on a shared broker another app's
        // consumers would otherwise take this app's events.
        settings.kafka.group_id_prefix = format!("{}t-{id}.", settings.kafka.group_id_prefix);
        // And topics of their own: every app publishes the same topics, and
        // a subscriber that reacts to any tenant's event (the webhooks'
        // fan-out) would otherwise deliver other apps' events too.
        settings.kafka.topic_prefix = format!("{}t-{id}.", settings.kafka.topic_prefix);
        if settings.database.driver != DatabaseDriver::Postgres {
            return Ok(Self { schema: None, queue_db });
        }
        let base = settings.database.dsn.expose().to_owned();
        let schema = format!("t_{id}");
        let mut conn = PgConnection::connect(&base)
            .await
            .map_err(|e| anyhow::anyhow!("PostgreSQL at the test DSN is not reachable: {e}"))?;
        sweep_stale(&mut conn).await;
        // The schema name is ours: `t_` and a UUID's hex digits.
        sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        let sep = if base.contains('?') { '&' } else { '?' };
        settings.database.dsn = SecretString::new(format!("{base}{sep}options=-c%20search_path%3D{schema}"));
        settings.database.migrate_on_start = true;
        // Names the app's connections, so cleanup can end them first.
        settings.database.application_name = schema.clone();
        Ok(Self {
            schema: Some((base, schema)),
            queue_db,
        })
    }
}

impl Drop for Isolation {
    fn drop(&mut self) {
        let schema = self.schema.take();
        let queue_db = self.queue_db.take();
        if schema.is_none() && queue_db.is_none() {
            return;
        }
        // Drop runs on the test's runtime, which may be the app's only thread:
        // the cleanup gets a thread and runtime of its own, and ends the app's
        // connections first so no open transaction can hold the DROP up.
        let cleanup = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            rt.block_on(async move {
                if let Some(db) = queue_db {
                    db.release().await;
                }
                let Some((base, schema)) = schema else {
                    return;
                };
                if let Err(err) = drop_schema(&base, &schema).await {
                    eprintln!("warning: test schema {schema} not dropped ({err}); the next run sweeps it");
                }
            });
        });
        let _ = cleanup.join();
    }
}

async fn drop_schema(base: &str, schema: &str) -> Result<(), sqlx::Error> {
    let mut conn = PgConnection::connect(base).await?;
    sqlx::query("SET lock_timeout = '5s'").execute(&mut conn).await?;
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()")
        .bind(schema)
        .execute(&mut conn)
        .await?;
    sqlx::query(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")))
        .execute(&mut conn)
        .await?;
    conn.close().await
}

/// Drops test schemas whose UUIDv7 says they are older than ten minutes.
async fn sweep_stale(conn: &mut PgConnection) {
    let Ok(names) =
        sqlx::query_scalar::<_, String>("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 't\\_%'")
            .fetch_all(&mut *conn)
            .await
    else {
        return;
    };
    let cutoff = chrono::Utc::now() - chrono::Duration::minutes(10);
    for name in names {
        let Ok(id) = uuid::Uuid::parse_str(&name[2..]) else {
            continue;
        };
        let Some((secs, _)) = id.get_timestamp().map(|t| t.to_unix()) else {
            continue;
        };
        let created = chrono::DateTime::from_timestamp(i64::try_from(secs).unwrap_or(i64::MAX), 0);
        if created.is_some_and(|c| c < cutoff) {
            let _ = sqlx::query(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE")))
                .execute(&mut *conn)
                .await;
        }
    }
}
