//! The composition root: each port family builds the configured adapters,
//! reports them as built, and any port can be overridden by a mock that the
//! domain and the platform's reactions then use.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::PathBuf;
use std::sync::Arc;

use platform_application::features;
use platform_bootstrap::app::{self, Platform, PlatformOptions};
use platform_bootstrap::compose::{Purpose, Served};
use platform_bootstrap::config::{self, Environment, LoadOptions, Settings};
use platform_bootstrap::container::PlatformModule;
use platform_ports::authz::PermissionResolver;
use platform_ports::blob::{BlobStore, MockBlobStore};
use platform_ports::cache::{Cache, MockCache};
use platform_ports::events::MockEventBus;
use platform_ports::identity::{
    MockPasswordHasher, MockUserRepository, PasswordHasher, RegisterUser, UserRepository, UserService,
};
use platform_ports::jobs::{JobQueue, MockJobQueue, MockScheduler, Scheduler};
use platform_ports::model::{RequestContext, SecretString, TenantId, UserId};
use platform_ports::notify::{EmailMessage, Mailbox, Mailer, MockMailer};
use platform_ports::secrets::MockSecretSource;
use shaku::{HasComponent, ModuleBuilder};

fn settings(vars: &[(&str, &str)]) -> Settings {
    let opts = LoadOptions {
        config_dir: Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config")),
        environment: Some(Environment::Test),
        vars: Some(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()),
    };
    config::load(&opts).unwrap().settings
}

async fn builder(s: &Settings) -> (ModuleBuilder<PlatformModule>, Vec<Served>) {
    let (builder, parts) = app::container(s, Purpose::Check).await.unwrap();
    (builder, parts.served)
}

fn adapter<'a>(served: &'a [Served], port: &str) -> &'a str {
    &served
        .iter()
        .find(|s| s.port == port)
        .unwrap_or_else(|| panic!("no adapter reported for {port}: {served:#?}"))
        .adapter
}

#[tokio::test]
async fn the_memory_profile_reports_the_adapters_it_built() {
    let (builder, served) = builder(&settings(&[])).await;
    assert_eq!(
        adapter(&served, "UserRepository"),
        "platform_adapter_memory::MemoryUserRepository"
    );
    assert_eq!(
        adapter(&served, "AuditStore"),
        "platform_core::BatchedAuditWriter(platform_adapter_memory::MemoryAuditStore)"
    );
    assert_eq!(adapter(&served, "Cache"), "platform_adapter_memory::MemoryCache");
    assert_eq!(
        adapter(&served, "EventBus"),
        "platform_adapter_memory::InProcessEventBus"
    );
    assert_eq!(adapter(&served, "JobQueue"), "platform_adapter_memory::MemoryJobQueue");
    assert_eq!(
        adapter(&served, "BlobStore"),
        "platform_adapter_localfs::LocalBlobStore"
    );
    assert_eq!(adapter(&served, "Mailer"), "platform_adapter_smtp::FileMailer");
    assert_eq!(adapter(&served, "TokenCodec"), "platform_adapter_crypto::JwtCodec");
    // Every port is reported once.
    let mut ports: Vec<_> = served.iter().map(|s| s.port).collect();
    ports.sort_unstable();
    let before = ports.len();
    ports.dedup();
    assert_eq!(before, ports.len(), "a port reported twice: {served:#?}");

    // Every slot was fed: resolving a port that nothing overrides works.
    let module = builder.build();
    let _: Arc<dyn UserRepository> = module.resolve();
    let _: Arc<dyn BlobStore> = module.resolve();
}

#[tokio::test]
async fn the_postgres_and_redis_profile_reports_the_adapters_it_built() {
    let dsn = std::env::var("PLATFORM_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let redis = std::env::var("PLATFORM_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    if std::net::TcpStream::connect("127.0.0.1:5432").is_err() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "PostgreSQL is required in CI"
        );
        eprintln!("*** SKIPPED: composition root on PostgreSQL: no server at 127.0.0.1:5432 (.ci/services.sh) ***");
        return;
    }
    let s = settings(&[
        ("PLATFORM__DATABASE__DRIVER", "postgres"),
        ("PLATFORM__DATABASE__DSN", &dsn),
        ("PLATFORM__CACHE__DRIVER", "redis"),
        ("PLATFORM__REDIS__URL", &redis),
        ("PLATFORM__CACHE__NAMESPACE", "composition-test"),
    ]);
    let (_, served) = builder(&s).await;
    assert_eq!(
        adapter(&served, "UserRepository"),
        "platform_adapter_postgres::PgUserRepository"
    );
    assert_eq!(
        adapter(&served, "AuditStore"),
        "platform_core::BatchedAuditWriter(platform_adapter_postgres::PgAuditStore)"
    );
    assert_eq!(
        adapter(&served, "Cache"),
        "platform_core::NamespacedCache(platform_core::FallbackCache(platform_adapter_redis::RedisCache, \
         platform_adapter_memory::MemoryCache))"
    );
}

#[tokio::test]
async fn a_family_refuses_a_bad_setting_naming_its_key() {
    let s = settings(&[
        ("PLATFORM__EVENT_BUS__DRIVER", "kafka"),
        ("PLATFORM__KAFKA__PARTITIONS", "0"),
    ]);
    let err = app::container(&s, Purpose::Check).await.err().unwrap().to_string();
    assert!(err.starts_with("kafka.partitions"), "{err}");
}

fn ctx() -> RequestContext {
    RequestContext::system("container-test")
}

#[tokio::test]
async fn persistence_a_mocked_repository_serves_the_use_cases() {
    let mut users = MockUserRepository::new();
    users.expect_find_by_id().times(1).returning(|_, _| Ok(None));
    let (builder, _) = builder(&settings(&[])).await;
    let module = builder
        .with_component_override::<dyn UserRepository>(Box::new(users))
        .build();
    let service: Arc<dyn UserService> = module.resolve();
    assert!(service.get(&ctx(), UserId::new()).await.is_err());
}

#[tokio::test]
async fn cache_a_mocked_cache_serves_the_permission_resolver() {
    let mut cache = MockCache::new();
    cache.expect_get().times(1..).returning(|_| Ok(None));
    cache.expect_set().returning(|_, _, _| Ok(()));
    let (builder, _) = builder(&settings(&[])).await;
    let module = builder.with_component_override::<dyn Cache>(Box::new(cache)).build();
    let resolver: Arc<dyn PermissionResolver> = module.resolve();
    let held = resolver
        .user_permissions(TenantId::DEFAULT, UserId::new())
        .await
        .unwrap();
    assert!(held.is_empty());
}

#[tokio::test]
async fn events_jobs_and_cron_mocks_receive_every_module_s_reactions() {
    let mut bus = MockEventBus::new();
    bus.expect_subscribe()
        .withf(|topic, subscriber, _| topic == "platform.identity" && subscriber == "identity.permission-cache")
        .times(1)
        .returning(|_, _, _| Ok(platform_ports::events::SubscriptionId(1)));
    bus.expect_subscribe()
        .withf(|topic, subscriber, _| topic == "platform.identity" && subscriber == "identity.api-key-cache")
        .times(1)
        .returning(|_, _, _| Ok(platform_ports::events::SubscriptionId(1)));
    bus.expect_subscribe()
        .withf(|topic, subscriber, _| topic == "blog.posts" && subscriber == "blog.author-stats")
        .times(1)
        .returning(|_, _, _| Ok(platform_ports::events::SubscriptionId(2)));
    // The webhooks module fans out every topic, one consumer group each.
    bus.expect_subscribe()
        .withf(|topic, subscriber, _| {
            (topic == "blog.posts" && subscriber == "webhooks.fanout.blog")
                || (topic == "platform.identity" && subscriber == "webhooks.fanout.identity")
                || (topic == "platform.files" && subscriber == "webhooks.fanout.files")
        })
        .times(3)
        .returning(|_, _, _| Ok(platform_ports::events::SubscriptionId(3)));
    let mut jobs = MockJobQueue::new();
    // The notify module's handlers (mail, SMS, push, the digest's tick) and the webhook delivery.
    jobs.expect_register()
        .withf(|task_type, _| {
            [
                "notify:email",
                "notify:sms",
                "notify:push",
                "digest:tick",
                "webhook:deliver",
            ]
            .contains(&task_type)
        })
        .times(5)
        .returning(|_, _| Ok(()));
    let mut scheduler = MockScheduler::new();
    scheduler
        .expect_schedule()
        .withf(|name, _, _| {
            [
                "outbox-purge",
                "processed-events-purge",
                "expired-token-cleanup",
                "orphan-blob-sweep",
                "audit-checkpoint",
            ]
            .contains(&name)
        })
        .times(5)
        .returning(|_, _, _| Ok(()));
    // The digest's schedule is the configured one.
    scheduler
        .expect_schedule()
        .withf(|name, spec, _| name == "digest" && spec == "0 0 8 * * MON")
        .times(1)
        .returning(|_, _, _| Ok(()));
    let options = PlatformOptions {
        customize: Some(Box::new(move |b| {
            b.with_component_override::<dyn platform_ports::events::EventBus>(Box::new(bus))
                .with_component_override::<dyn JobQueue>(Box::new(jobs))
                .with_component_override::<dyn Scheduler>(Box::new(scheduler))
        })),
        routes: axum::Router::new(),
    };
    let s = settings(&[("PLATFORM__SERVER__PORT", "0")]);
    let platform = Platform::build_with(s, options).await.unwrap();
    // The mocks' `times` are checked when the container drops them.
    drop(platform);
}

#[tokio::test]
async fn blob_a_mocked_store_is_what_the_container_serves() {
    let mut blobs = MockBlobStore::new();
    blobs.expect_exists().times(1).returning(|_| Ok(true));
    let (builder, _) = builder(&settings(&[])).await;
    let module = builder
        .with_component_override::<dyn BlobStore>(Box::new(blobs))
        .build();
    let store: Arc<dyn BlobStore> = module.resolve();
    let key = platform_ports::blob::BlobKey::parse("blog/post/1/a.png").unwrap();
    assert!(store.exists(&key).await.unwrap());
}

#[tokio::test]
async fn notify_a_mocked_mailer_receives_what_the_mail_job_sends() {
    let mut mailer = MockMailer::new();
    mailer
        .expect_send()
        .withf(|m: &EmailMessage| m.to.to_string() == "ada@example.com")
        .times(1)
        .returning(|_| Ok(()));
    let (builder, _) = builder(&settings(&[])).await;
    let module = builder.with_component_override::<dyn Mailer>(Box::new(mailer)).build();
    // The handler the notify module registers for mail jobs, built from the container.
    let manifest = features::notify::<PlatformModule>();
    let handler = (manifest.jobs[0].handler)(&module);
    let message = EmailMessage {
        to: Mailbox::new("ada@example.com").unwrap(),
        subject: "hi".into(),
        text: "hello".into(),
        html: None,
    };
    handler.handle(&serde_json::to_vec(&message).unwrap()).await.unwrap();
}

#[tokio::test]
async fn security_a_mocked_hasher_serves_registration() {
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_hash()
        .times(1)
        .returning(|_| Err(platform_ports::identity::HashError::Unavailable("mocked".into())));
    let (builder, _) = builder(&settings(&[])).await;
    let module = builder
        .with_component_override::<dyn PasswordHasher>(Box::new(hasher))
        .build();
    let service: Arc<dyn UserService> = module.resolve();
    let input = RegisterUser {
        email: "ada@example.com".into(),
        password: SecretString::new("correct horse battery"),
        display_name: None,
    };
    assert!(service.register(&ctx(), input).await.is_err());
}

#[tokio::test]
async fn secrets_a_mocked_source_is_the_last_configuration_layer() {
    let mut source = MockSecretSource::new();
    source.expect_get().returning(|key| {
        Ok((key == "auth.jwt.secret").then(|| SecretString::new("from-the-mocked-secret-source-0123456789")))
    });
    let mut s = settings(&[]);
    config::apply_secrets(&mut s, &source).await.unwrap();
    assert_eq!(s.auth.jwt.secret.expose(), "from-the-mocked-secret-source-0123456789");
}
