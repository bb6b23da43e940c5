//! The typed configuration. Every section has its defaults in `config/default.yaml`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use platform_ports::model::SecretString;
use serde::{Deserialize, Serialize};

use super::sources::{SecretsSettings, SentryConfig, TelemetrySettings, list_or_csv};

/// The deployment environment (`PLATFORM_ENV`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// A developer's machine.
    Development,
    /// Automated tests.
    Test,
    /// Production: refuses toy adapters.
    Production,
}

impl Environment {
    /// Parses `development|test|production`.
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "development" => Some(Self::Development),
            "test" => Some(Self::Test),
            "production" => Some(Self::Production),
            _ => None,
        }
    }

    /// The name used for `config/{name}.yaml`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Test => "test",
            Self::Production => "production",
        }
    }
}

/// The whole configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Settings {
    /// Which environment this is.
    pub environment: Environment,
    /// Lets production run persistent ports in memory (demos only).
    pub allow_in_memory: bool,
    /// HTTP server.
    pub server: ServerSettings,
    /// Persistence.
    pub database: DatabaseSettings,
    /// Logging.
    pub logging: LoggingSettings,
    /// Cache.
    pub cache: CacheSettings,
    /// Redis connection.
    pub redis: RedisSettings,
    /// Authentication.
    pub auth: AuthSettings,
    /// Attempt limits on sensitive endpoints.
    pub rate_limit: RateLimitConfig,
    /// Bootstrap administrator.
    pub admin: AdminSettings,
    /// Kafka connection.
    pub kafka: KafkaSettings,
    /// Event bus.
    pub event_bus: EventBusSettings,
    /// The transactional outbox and its relay.
    pub outbox: OutboxSettings,
    /// Jobs and cron.
    pub scheduler: SchedulerSettings,
    /// Blob storage.
    pub blob: BlobSettings,
    /// Mail.
    pub mail: MailSettings,
    /// SMS channel.
    pub sms: SmsSettings,
    /// Push channel.
    pub push: PushSettings,
    /// Outgoing webhooks.
    pub webhooks: WebhooksConfig,
    /// Health checks.
    pub health: HealthSettings,
    /// Error bus.
    pub error_bus: ErrorBusSettings,
    /// Secret sources.
    pub secrets: SecretsSettings,
    /// Trace export.
    #[serde(default)]
    pub telemetry: TelemetrySettings,
    /// The audit log's hash chain.
    #[serde(default)]
    pub audit: AuditSettings,
    /// The digest mail of new posts.
    #[serde(default)]
    pub digest: DigestConfig,
}

/// `digest.*`: the mail of new posts sent to users who opted in.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct DigestConfig {
    /// Whether the cron runs (it mails only users who opted in).
    pub enabled: bool,
    /// Cron expression in UTC (six fields with seconds, or five).
    pub schedule: String,
    /// At most this many posts per mail.
    pub max_posts: u32,
    /// A post's page under `server.public_url` (`{id}`: the post's id).
    pub post_path: String,
    /// The page under `server.public_url` where users turn the digest off.
    pub settings_path: String,
}

impl Default for DigestConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            schedule: "0 0 8 * * MON".to_owned(),
            max_posts: 50,
            post_path: "/blog/posts/{id}".to_owned(),
            settings_path: "/settings".to_owned(),
        }
    }
}

/// `audit.*`
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AuditSettings {
    /// HMAC key signing the audit chain's checkpoints (at least 32 bytes;
    /// empty: no checkpoints, so a removed tail goes unnoticed). A secret:
    /// set it through the secret source, like `auth.jwt.secret`.
    #[serde(default)]
    pub checkpoint_key: SecretString,
}

/// `server.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServerSettings {
    /// Bind address.
    pub host: String,
    /// Bind port; 0 picks a free one.
    pub port: u16,
    /// Per-request timeout.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// How long shutdown drains in-flight requests.
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// The public base URL (links in mails).
    pub public_url: String,
}

/// Which persistence adapter serves the repositories.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseDriver {
    /// In-memory (lost on restart).
    Memory,
    /// PostgreSQL.
    Postgres,
}

/// `database.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DatabaseSettings {
    /// Adapter.
    pub driver: DatabaseDriver,
    /// Connection string (a secret: it may hold a password).
    pub dsn: SecretString,
    /// Pool size.
    pub max_connections: u32,
    /// Connections kept open when idle.
    pub max_idle_connections: u32,
    /// Time to wait for a connection.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Connection lifetime.
    #[serde(with = "humantime_serde")]
    pub max_lifetime: Duration,
    /// Idle connection timeout.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Apply migrations at start-up.
    pub migrate_on_start: bool,
    /// The connections' `application_name` (pg_stat_activity).
    pub application_name: String,
    /// The role the pool's connections act as (`-c role=…`): neither
    /// superuser nor table owner, so row-level security binds it. Migration
    /// 0013 creates and grants `platform_app`; empty keeps the DSN's user.
    pub app_role: String,
    /// Where migrations run, as the tables' owner (a secret: it may hold a
    /// password). Empty: the DSN's user, without `app_role`.
    pub migrations_dsn: SecretString,
}

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable.
    Console,
}

/// `logging.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoggingSettings {
    /// EnvFilter directive.
    pub level: String,
    /// Line format.
    pub format: LogFormat,
    /// `stdout`, `stderr` or a file path.
    pub output: String,
}

/// Which cache adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheDriver {
    /// Process-local.
    Memory,
    /// Redis, shared across instances.
    Redis,
}

/// `cache.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CacheSettings {
    /// When false, cached lookups always go to the source.
    pub enabled: bool,
    /// Adapter.
    pub driver: CacheDriver,
    /// Default TTL of cached entries.
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
    /// Prefix of every key (empty: none).
    pub namespace: String,
}

/// `redis.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RedisSettings {
    /// Connection URL (secret: may hold a password).
    pub url: SecretString,
    /// Pool size.
    pub pool_size: u32,
    /// Past this, Redis counts as down and the memory fallback serves.
    #[serde(with = "humantime_serde")]
    pub command_timeout: Duration,
    /// How often to try Redis again while on the fallback.
    #[serde(with = "humantime_serde")]
    pub retry_interval: Duration,
}

/// JWT signing algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JwtAlgorithm {
    /// HMAC-SHA256 with a shared secret.
    HS256,
    /// RSA-SHA256 with a key pair (public key served as JWKS).
    RS256,
}

/// `auth.jwt.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JwtSettings {
    /// Algorithm.
    pub algorithm: JwtAlgorithm,
    /// HS256 key.
    pub secret: SecretString,
    /// RS256 private key (PEM file).
    pub private_key_file: String,
    /// RS256 public key (PEM file).
    pub public_key_file: String,
}

/// `auth.password.argon2.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Argon2Settings {
    /// Memory cost in KiB.
    pub memory_kib: u32,
    /// Iterations.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

/// `auth.password.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PasswordSettings {
    /// Minimum length.
    pub min_length: usize,
    /// Hash parameters.
    pub argon2: Argon2Settings,
    /// Hashes running at once (the blocking pool's bound).
    pub max_concurrent_hashes: usize,
}

/// `auth.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuthSettings {
    /// `iss` claim.
    pub issuer: String,
    /// `aud` claim.
    pub audience: String,
    /// Access token lifetime.
    #[serde(with = "humantime_serde")]
    pub access_token_ttl: Duration,
    /// Refresh token lifetime.
    #[serde(with = "humantime_serde")]
    pub refresh_token_ttl: Duration,
    /// Window in which a rotated refresh token still yields its successor.
    #[serde(with = "humantime_serde")]
    pub refresh_reuse_grace: Duration,
    /// Login requires a verified email.
    pub require_verified_email: bool,
    /// Lifetime of an email verification token.
    #[serde(with = "humantime_serde")]
    pub email_verification_ttl: Duration,
    /// Lifetime of a password reset token.
    #[serde(with = "humantime_serde")]
    pub password_reset_ttl: Duration,
    /// Key for deriving rotated refresh tokens' successors (shared by instances).
    pub refresh_token_key: SecretString,
    /// Token signing.
    pub jwt: JwtSettings,
    /// Password policy and hashing.
    pub password: PasswordSettings,
}

/// One action's limits (`rate_limit.login`…).
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct RateLimitRuleConfig {
    /// Attempts per window from one client address (0: unlimited).
    pub per_ip: u32,
    /// Attempts per window for one account (0: unlimited).
    pub per_account: u32,
    /// The window.
    #[serde(with = "humantime_serde")]
    pub window: Duration,
}

/// `rate_limit.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RateLimitConfig {
    /// Off: nothing is limited.
    pub enabled: bool,
    /// `POST auth/login`.
    pub login: RateLimitRuleConfig,
    /// `POST auth/refresh`.
    pub refresh: RateLimitRuleConfig,
    /// `POST auth/register`.
    pub register: RateLimitRuleConfig,
    /// `POST auth/password/forgot` and `reset`.
    pub password_reset: RateLimitRuleConfig,
    /// Requests whose API key does not authenticate (only failures count).
    pub api_key: RateLimitRuleConfig,
}

/// `admin.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AdminSettings {
    /// Email of the administrator created at start-up (empty: none).
    pub email: String,
    /// Their password.
    pub password: SecretString,
}

/// `kafka.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KafkaSettings {
    /// Bootstrap servers (`host:port,host:port`).
    pub brokers: String,
    /// Client id.
    pub client_id: String,
    /// Prefix of every consumer group (`<prefix><subscriber>`).
    pub group_id_prefix: String,
    /// Prefix of every topic name on the broker (`<prefix><topic>`).
    #[serde(default)]
    pub topic_prefix: String,
    /// Create missing topics at start-up (else they must exist).
    pub create_topics: bool,
    /// Partitions of topics the platform creates.
    pub partitions: i32,
    /// Replication factor of topics the platform creates.
    pub replication: i32,
    /// How long the producer waits to fill a batch.
    #[serde(with = "humantime_serde")]
    pub linger: Duration,
    /// Largest producer batch, in bytes.
    pub batch_size: usize,
    /// Longest wait for a broker acknowledgement (keep well below the relay's lease).
    #[serde(with = "humantime_serde")]
    pub publish_timeout: Duration,
    /// Consumer group session timeout.
    #[serde(with = "humantime_serde")]
    pub session_timeout: Duration,
    /// Bound of metadata requests (health check, topic checks).
    #[serde(with = "humantime_serde")]
    pub metadata_timeout: Duration,
    /// Transport security and authentication.
    pub security: KafkaSecurityConfig,
}

/// `kafka.security.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KafkaSecurityConfig {
    /// `plaintext`, `sasl_plaintext` (`ssl` and `sasl_ssl` need the adapter's `tls` feature).
    pub protocol: String,
    /// `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    pub sasl_mechanism: String,
    /// SASL user.
    pub sasl_username: String,
    /// SASL password (secret).
    pub sasl_password: SecretString,
    /// CA bundle for TLS.
    pub ca_file: String,
}

/// Which event bus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventBusDriver {
    /// In this process.
    Inprocess,
    /// Kafka.
    Kafka,
}

/// `event_bus.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EventBusSettings {
    /// Adapter.
    pub driver: EventBusDriver,
    /// Per-subscriber queue length.
    pub queue_capacity: usize,
    /// Retries of a failing handler before dead-lettering.
    pub max_retries: u32,
    /// First retry delay.
    #[serde(with = "humantime_serde")]
    pub initial_backoff: Duration,
    /// Longest retry delay.
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
    /// How long a subscriber's processed-event record is kept (longer than
    /// any redelivery: Kafka's topic retention).
    #[serde(with = "humantime_serde")]
    pub processed_retention: Duration,
}

/// `outbox.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OutboxSettings {
    /// The relay that publishes committed events to the bus.
    pub relay: OutboxRelayConfig,
}

/// `outbox.relay.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OutboxRelayConfig {
    /// Rows claimed per round.
    pub batch_size: usize,
    /// How long a claim hides rows from other instances' relays; longer than
    /// `kafka.publish_timeout` on Kafka.
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
    /// Pause between rounds when nothing was due.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// First retry delay of a failed publish (doubles per attempt).
    #[serde(with = "humantime_serde")]
    pub initial_backoff: Duration,
    /// Longest retry delay of a failed publish.
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
}

/// Which job queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SchedulerDriver {
    /// In this process (lost on restart).
    Memory,
    /// Redis, asynq wire format.
    Redis,
}

/// `scheduler.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SchedulerSettings {
    /// Adapter.
    pub driver: SchedulerDriver,
    /// Whether this instance runs workers and cron (`platform serve`); an
    /// instance without them only enqueues.
    pub workers: bool,
    /// Jobs run at once by this instance.
    pub concurrency: usize,
    /// Lets production use the in-memory queue.
    pub allow_in_memory: bool,
    /// Redis for the queue (secret; empty: `redis.url`).
    pub redis_url: SecretString,
    /// Queues this instance works, with their weights (asynq's priorities).
    pub queues: BTreeMap<String, u32>,
    /// Always drain higher-weighted queues first instead of weighting.
    pub strict_priority: bool,
    /// How long a finished job that does not say is kept (0: forgotten at once).
    #[serde(with = "humantime_serde")]
    pub default_retention: Duration,
    /// The queue cron ticks are enqueued on.
    pub cron_queue: String,
    /// How long a cron tick's task is kept, so no other instance runs the tick again.
    #[serde(with = "humantime_serde")]
    pub cron_retention: Duration,
    /// Periodic tasks declared in configuration.
    pub cron: Vec<CronTaskConfig>,
    /// The Redis queue's lease and background loop intervals (asynq's by default).
    pub timings: SchedulerTimings,
}

/// `scheduler.timings.*`: asynq's values by default. Shorter ones make a
/// crashed worker's tasks come back sooner at the cost of more Redis
/// traffic; the process tests use them to see recoveries in seconds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SchedulerTimings {
    /// How long a dequeued task is leased; extended while it runs (at least 1s).
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
    /// How often leases are extended and the server state written (shorter than the lease).
    #[serde(with = "humantime_serde")]
    pub heartbeat_interval: Duration,
    /// How often expired leases are looked for.
    #[serde(with = "humantime_serde")]
    pub recover_interval: Duration,
    /// How long past its end a lease must be before its task is taken back.
    #[serde(with = "humantime_serde")]
    pub recover_grace: Duration,
    /// How often due scheduled and retry tasks are made pending.
    #[serde(with = "humantime_serde")]
    pub forward_interval: Duration,
    /// How often completed tasks past their retention are deleted.
    #[serde(with = "humantime_serde")]
    pub janitor_interval: Duration,
    /// How long an idle worker waits before looking at the queues again.
    #[serde(with = "humantime_serde")]
    pub task_check_interval: Duration,
    /// How often the cron scheduler writes its entries for asynqmon.
    #[serde(with = "humantime_serde")]
    pub scheduler_heartbeat: Duration,
    /// The same wait before every retry; absent (`~`): asynq's
    /// `n⁴ + 15 + rand(0..30)·(n+1)` seconds.
    #[serde(with = "humantime_serde", default)]
    pub retry_delay: Option<Duration>,
}

/// One `scheduler.cron` entry: enqueue `task_type` with `payload` on `spec`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CronTaskConfig {
    /// Unique name of the schedule.
    pub name: String,
    /// Cron expression (six fields with seconds, or five).
    pub spec: String,
    /// The task type to enqueue (`notify:email`).
    pub task_type: String,
    /// Its JSON payload.
    #[serde(default)]
    pub payload: serde_json::Value,
    /// The queue (default: `scheduler.cron_queue`).
    #[serde(default)]
    pub queue: String,
}

/// Which blob store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobDriver {
    /// A local directory.
    Local,
    /// S3 or compatible.
    S3,
}

/// `blob.local.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LocalBlobConfig {
    /// Directory.
    pub root: PathBuf,
    /// Base of signed URLs.
    pub public_base_url: String,
}

/// `blob.s3.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct S3Config {
    /// Bucket.
    pub bucket: String,
    /// Region.
    pub region: String,
    /// Endpoint for S3-compatible servers (empty: AWS).
    pub endpoint: String,
    /// Access key id.
    pub access_key: SecretString,
    /// Secret access key.
    pub secret_key: SecretString,
    /// Path-style addressing (`endpoint/bucket/key`) instead of virtual hosts.
    pub path_style: bool,
    /// Uploads from this size on go in parts of this size (at least 5 MiB).
    pub multipart_threshold: u64,
    /// Parts uploaded at once.
    pub multipart_concurrency: usize,
    /// Create the bucket at start-up when it is missing.
    pub create_bucket: bool,
    /// Bound of one request (a download's body streams without it).
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
}

/// `blob.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlobSettings {
    /// Adapter.
    pub driver: BlobDriver,
    /// Key signing local URLs.
    pub signing_key: SecretString,
    /// Local adapter.
    pub local: LocalBlobConfig,
    /// S3 adapter.
    pub s3: S3Config,
    /// Largest upload through the files API, in bytes (refused with 413 as
    /// soon as the body passes it).
    pub max_upload_bytes: u64,
    /// MIME types the files API accepts: `type/subtype`, `type/*`, `*/*`
    /// (a YAML list, or comma-separated in an environment variable).
    #[serde(deserialize_with = "list_or_csv")]
    pub allowed_content_types: Vec<String>,
    /// Validity of a signed download URL when the caller names none.
    #[serde(with = "humantime_serde")]
    pub signed_url_ttl: Duration,
}

/// Which mail adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailDriver {
    /// `.eml` files in a directory.
    File,
    /// SMTP.
    Smtp,
    /// AWS SES v2.
    Ses,
}

/// `mail.file.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FileMailConfig {
    /// Directory of `.eml` files.
    pub dir: PathBuf,
}

/// How the SMTP connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTlsMode {
    /// Plain text (a local capture server only).
    None,
    /// STARTTLS upgrade (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Implicit,
}

/// `mail.smtp.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SmtpConfig {
    /// Server.
    pub host: String,
    /// Port.
    pub port: u16,
    /// `none`, `starttls` or `implicit`.
    pub tls: SmtpTlsMode,
    /// User for AUTH (empty: none).
    pub username: String,
    /// Password (secret).
    pub password: SecretString,
    /// Bound on connecting and on each command.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Pooled connections.
    pub pool_max_size: u32,
    /// Extra trusted roots (PEM), for a private CA.
    pub ca_file: String,
}

/// `mail.ses.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SesConfig {
    /// Region (empty: the standard AWS chain).
    pub region: String,
    /// Endpoint override (an SES-compatible server).
    pub endpoint: String,
    /// Configuration set (empty: none).
    pub configuration_set: String,
    /// Access key id (empty: the standard chain).
    pub access_key_id: String,
    /// Secret access key (secret).
    pub secret_access_key: SecretString,
    /// Shared-files profile (empty: `AWS_PROFILE` or `default`).
    pub profile: String,
    /// Bound on each request.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

/// `mail.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MailSettings {
    /// Adapter.
    pub driver: MailDriver,
    /// Sender.
    pub from: String,
    /// `product_name` in every template.
    pub product_name: String,
    /// A directory overriding built-in templates (empty: none).
    pub templates_dir: String,
    /// File adapter.
    pub file: FileMailConfig,
    /// SMTP adapter.
    pub smtp: SmtpConfig,
    /// SES adapter.
    pub ses: SesConfig,
}

/// Which SMS adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsDriver {
    /// Disabled: sending SMS is refused with a clear error.
    None,
    /// Twilio's Messages API.
    Twilio,
}

/// `sms.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SmsSettings {
    /// Adapter.
    pub driver: SmsDriver,
    /// Twilio adapter.
    pub twilio: TwilioConfig,
}

/// `sms.twilio.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TwilioConfig {
    /// Account SID (`AC...`).
    pub account_sid: String,
    /// Auth token (secret).
    pub auth_token: SecretString,
    /// Sender number or id (empty when a messaging service sends).
    pub from: String,
    /// Messaging service SID (`MG...`), used instead of `from` when set.
    pub messaging_service_sid: String,
    /// API base URL.
    pub base_url: String,
    /// Bound on each request.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

/// Which push adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PushDriver {
    /// Disabled: sending push is refused with a clear error.
    None,
    /// Firebase Cloud Messaging HTTP v1.
    Fcm,
    /// Apple Push Notification service (HTTP/2 provider API).
    Apns,
}

/// `push.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PushSettings {
    /// Adapter.
    pub driver: PushDriver,
    /// FCM adapter.
    pub fcm: FcmConfig,
    /// APNs adapter.
    pub apns: ApnsConfig,
}

/// `push.fcm.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FcmConfig {
    /// The service account's JSON key file (empty: `service_account_json`).
    pub service_account_file: String,
    /// The service account's JSON key (secret).
    pub service_account_json: SecretString,
    /// Project id (empty: the key's).
    pub project_id: String,
    /// API base URL.
    pub base_url: String,
    /// Token endpoint (empty: the key's `token_uri`).
    pub token_url: String,
    /// Bound on each request.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

/// `push.apns.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ApnsConfig {
    /// The `.p8` key file (empty: `key_pem`).
    pub key_file: String,
    /// The `.p8` key's PEM (secret).
    pub key_pem: SecretString,
    /// The key's id.
    pub key_id: String,
    /// The team id.
    pub team_id: String,
    /// The app's bundle id (`apns-topic`).
    pub topic: String,
    /// API base URL (production or sandbox).
    pub base_url: String,
    /// Bound on each request.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

/// `webhooks.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WebhooksConfig {
    /// Bound on one delivery attempt.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Allow targets on loopback, private and link-local addresses (SSRF guard off).
    pub allow_private_targets: bool,
    /// Attempts per delivery (and per redelivery) before it is marked failed.
    pub max_attempts: u32,
    /// The wait after the first failed attempt (six times longer after each next one).
    #[serde(with = "humantime_serde")]
    pub retry_initial: Duration,
    /// The longest wait between two attempts.
    #[serde(with = "humantime_serde")]
    pub retry_max: Duration,
}

/// `health.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HealthSettings {
    /// Bound of each readiness check.
    #[serde(with = "humantime_serde")]
    pub check_timeout: Duration,
    /// Path whose filesystem is checked.
    pub disk_path: PathBuf,
    /// Free space below this is not ready.
    pub disk_min_free_mb: u64,
    /// RSS above this is not ready (0: no limit).
    pub memory_max_rss_mb: u64,
    /// System available memory below this ratio is not ready.
    pub memory_min_available_ratio: f64,
}

/// `error_bus.*`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ErrorBusSettings {
    /// Queue length; reports past it are counted and dropped.
    pub capacity: usize,
    /// The Sentry sink (off while `dsn` is empty).
    #[serde(default)]
    pub sentry: SentryConfig,
}
