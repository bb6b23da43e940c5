//! The connection to Redis: every command bounded by the command timeout,
//! every failure sorted into "Redis is unreachable" (`CacheError::Unavailable`,
//! where a fallback may serve) or "Redis answered with an error".

use std::time::Duration;

use deadpool_redis::redis::{
    self, AsyncConnectionConfig, Cmd, ErrorKind, FromRedisValue, RedisError, Script, ServerErrorKind,
};
use deadpool_redis::{Connection, Manager, Pool, PoolError, Runtime};
use platform_ports::cache::CacheError;

use crate::settings::RedisSettings;

/// Creates the counter at `KEYS[1]` or adds one to it; `ARGV[1]` is the
/// window in milliseconds (negative: none), applied only when this call
/// created the key, so later increments never stretch a fixed window. One
/// script, so no other client sees the key between the increment and the expiry.
const INCREMENT: &str = r"
local created = redis.call('EXISTS', KEYS[1]) == 0
local count = redis.call('INCR', KEYS[1])
local window = tonumber(ARGV[1])
if created and window >= 0 then
  redis.call('PEXPIRE', KEYS[1], window)
end
return count
";

/// Whatever stops the pool from handing out a connection (refused, timed
/// out, failed handshake) leaves this instance without Redis.
fn from_pool(err: PoolError) -> CacheError {
    CacheError::Unavailable(Box::new(err))
}

/// An error of a command: an outage, or what Redis answered with (a wrong
/// type, a non-integer counter).
fn from_redis(err: RedisError) -> CacheError {
    let unavailable = matches!(
        err.kind(),
        ErrorKind::Server(
            ServerErrorKind::BusyLoading
                | ServerErrorKind::MasterDown
                | ServerErrorKind::TryAgain
                | ServerErrorKind::ClusterDown
        )
    );
    if err.is_io_error() || err.is_unrecoverable_error() || unavailable {
        CacheError::Unavailable(Box::new(err))
    } else if err.kind() == ErrorKind::Server(ServerErrorKind::ResponseError)
        && err.detail().is_some_and(|d| d.contains("not an integer"))
    {
        CacheError::NotAnInteger
    } else {
        CacheError::Backend(Box::new(err))
    }
}

/// What opening the pool can fail with (never an unreachable server: the
/// pool connects lazily).
#[derive(Debug, thiserror::Error)]
pub enum RedisConnectError {
    /// The URL cannot be parsed.
    #[error("redis.url is not a valid Redis URL")]
    InvalidUrl(#[source] RedisError),
    /// The pool settings were rejected.
    #[error("the Redis connection pool could not be built")]
    Pool(#[source] deadpool_redis::BuildError),
}

/// A pool of connections to one Redis server.
pub(crate) struct Link {
    pool: Pool,
    timeout: Duration,
    increment: Script,
}

impl Link {
    /// Builds the pool without connecting.
    pub(crate) fn open(settings: &RedisSettings) -> Result<Self, RedisConnectError> {
        let timeout = settings.command_timeout;
        let connection = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        let manager =
            Manager::new_with_config(settings.url.expose(), connection).map_err(RedisConnectError::InvalidUrl)?;
        let pool = Pool::builder(manager)
            .max_size(settings.pool_size.max(1))
            .wait_timeout(Some(timeout))
            .create_timeout(Some(timeout))
            .recycle_timeout(Some(timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(RedisConnectError::Pool)?;
        Ok(Self {
            pool,
            timeout,
            increment: Script::new(INCREMENT),
        })
    }

    /// Runs one command.
    pub(crate) async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, CacheError> {
        self.bounded(async {
            let mut conn = self.connection().await?;
            cmd.query_async(&mut conn).await.map_err(from_redis)
        })
        .await
    }

    /// Adds one to the counter at `key`; `window_ms` (negative: none) is its
    /// expiry when this call creates it.
    pub(crate) async fn increment(&self, key: &str, window_ms: i64) -> Result<i64, CacheError> {
        self.bounded(async {
            let mut conn = self.connection().await?;
            self.increment
                .key(key)
                .arg(window_ms)
                .invoke_async(&mut conn)
                .await
                .map_err(from_redis)
        })
        .await
    }

    /// Whether Redis answers.
    pub(crate) async fn ping(&self) -> Result<(), CacheError> {
        self.query::<String>(&redis::cmd("PING")).await.map(drop)
    }

    async fn connection(&self) -> Result<Connection, CacheError> {
        self.pool.get().await.map_err(from_pool)
    }

    /// The pool's and the connection's own timeouts cover each step; this
    /// bounds the sum, so a command never holds a request longer than the
    /// command timeout.
    async fn bounded<T>(&self, work: impl Future<Output = Result<T, CacheError>>) -> Result<T, CacheError> {
        tokio::time::timeout(self.timeout, work).await.unwrap_or_else(|_| {
            Err(CacheError::Unavailable(
                format!("no answer within {:?}", self.timeout).into(),
            ))
        })
    }
}
