//! The connection to Redis: one multiplexed connection shared by every
//! caller (concurrent commands are pipelined on it), opened lazily and
//! opened again after an I/O failure, every command bounded by a timeout.

use std::sync::RwLock;
use std::time::Duration;

use deadpool_redis::redis::aio::MultiplexedConnection;
use deadpool_redis::redis::{
    AsyncConnectionConfig, Client, Cmd, FromRedisValue, Pipeline, RedisError, ScriptInvocation,
};
use tokio::sync::Mutex;

use crate::error::RedisQueueError;

/// Counts the Redis round trips this process makes (for the benchmark's
/// "round trips per task").
pub static ROUND_TRIPS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A lazily opened, shared connection to one Redis server.
pub(crate) struct Link {
    client: Client,
    config: AsyncConnectionConfig,
    cached: RwLock<Option<MultiplexedConnection>>,
    /// Held while connecting, so concurrent callers open one connection.
    connecting: Mutex<()>,
    timeout: Duration,
}

impl Link {
    /// A link to `url` (nothing is connected yet).
    pub(crate) fn open(url: &str, timeout: Duration) -> Result<Self, RedisQueueError> {
        let client = Client::open(url).map_err(RedisQueueError::InvalidUrl)?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        Ok(Self {
            client,
            config,
            cached: RwLock::new(None),
            connecting: Mutex::new(()),
            timeout,
        })
    }

    fn cached(&self) -> Option<MultiplexedConnection> {
        self.cached.read().ok().and_then(|conn| conn.clone())
    }

    async fn connection(&self) -> Result<MultiplexedConnection, RedisQueueError> {
        if let Some(conn) = self.cached() {
            return Ok(conn);
        }
        let _connecting = self.connecting.lock().await;
        if let Some(conn) = self.cached() {
            return Ok(conn);
        }
        let connect = self.client.get_multiplexed_async_connection_with_config(&self.config);
        let conn = tokio::time::timeout(self.timeout, connect)
            .await
            .map_err(|_| RedisQueueError::Timeout(self.timeout))??;
        if let Ok(mut cached) = self.cached.write() {
            *cached = Some(conn.clone());
        }
        Ok(conn)
    }

    /// Forgets a connection that failed at the transport level.
    fn check(&self, err: RedisError) -> RedisQueueError {
        let transport =
            err.is_io_error() || err.is_unrecoverable_error() || err.is_timeout() || err.is_connection_dropped();
        if transport && let Ok(mut cached) = self.cached.write() {
            *cached = None;
        }
        RedisQueueError::Redis(err)
    }

    /// Runs one command.
    pub(crate) async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, RedisQueueError> {
        let mut conn = self.connection().await?;
        ROUND_TRIPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        cmd.query_async(&mut conn).await.map_err(|err| self.check(err))
    }

    /// Runs a pipeline (one round trip).
    pub(crate) async fn pipeline<T: FromRedisValue>(&self, pipe: &Pipeline) -> Result<T, RedisQueueError> {
        let mut conn = self.connection().await?;
        ROUND_TRIPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        pipe.query_async(&mut conn).await.map_err(|err| self.check(err))
    }

    /// Runs a script by its hash, loading it first when Redis does not know it.
    pub(crate) async fn script<T: FromRedisValue>(
        &self,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, RedisQueueError> {
        let mut conn = self.connection().await?;
        ROUND_TRIPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        invocation.invoke_async(&mut conn).await.map_err(|err| self.check(err))
    }

    /// `PING`.
    pub(crate) async fn ping(&self) -> Result<(), RedisQueueError> {
        let _: String = self.query(&deadpool_redis::redis::cmd("PING")).await?;
        Ok(())
    }
}
