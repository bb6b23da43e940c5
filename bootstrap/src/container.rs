//! The shaku module: every port, fed in one place.
//!
//! Ports served by adapters are [`Slot`]s: the composition root
//! ([`crate::compose`]) builds them from the configuration and [`feed`]
//! hands each to the module as its slot's parameter. The domain components
//! (core's use cases) are ordinary shaku components that inject those ports.
//! Tests override any port, slot or component, with
//! `with_component_override` on the builder [`feed`] returns.

use std::marker::PhantomData;

use platform_application::maintenance::{EventRetentionPolicy, EventRetentionPolicyParameters};
use platform_core::apikeys::ApiKeyManager;
use platform_core::audit::{AuditService, HmacCheckpointSigner};
use platform_core::auth::AuthService;
use platform_core::authz::{CachedPermissionResolver, RbacAuthorizer};
use platform_core::blog::BlogManager;
use platform_core::clock::{SystemClock, UuidV7Generator};
use platform_core::files::FilesManager;
use platform_core::health::CompositeHealthRegistry;
use platform_core::identity::{RoleManager, UserManager};
use platform_core::notify::digest::DigestManager;
use platform_core::notify::{NotifyChannels, TemplateNotifier, TemplateNotifierParameters};
use platform_core::ratelimit::CacheRateLimiter;
use platform_core::webhooks::{WebhookManager, WebhookPolicy, WebhookPolicyParameters};
use platform_ports::audit::AuditStore;
use platform_ports::auth::{OpaqueTokens, RefreshTokenStore, TokenCodec, VerificationTokenStore};
use platform_ports::blob::{BlobStore, SignedUrlVerifier};
use platform_ports::blog::{AuthorStats, PostRepository};
use platform_ports::cache::Cache;
use platform_ports::error_bus::ErrorPublisher;
use platform_ports::events::{EventBus, Outbox, ProcessedEvents};
use platform_ports::files::FileRepository;
use platform_ports::identity::{ApiKeyRepository, PasswordHasher, RoleRepository, UserRepository};
use platform_ports::jobs::{JobAdmin, JobQueue, Scheduler};
use platform_ports::metrics::Metrics;
use platform_ports::notify::Mailer;
use platform_ports::persistence::UnitOfWork;
use platform_ports::webhooks::WebhookRepository;
use shaku::{Component, Interface, Module, ModuleBuildContext, ModuleBuilder, module};

use crate::compose::Assembly;
use crate::config::Settings;
use crate::domain;

/// A port the composition root fills with what a family built.
///
/// Its parameter is the built port object: shaku takes ownership of it, so
/// no delegating wrapper is needed between an adapter and the container.
pub struct Slot<I: ?Sized>(PhantomData<fn() -> Box<I>>);

/// A [`Slot`]'s parameter: the port object, once [`feed`] supplied it.
pub struct Filled<I: ?Sized>(Option<Box<I>>);

impl<I: ?Sized> Default for Filled<I> {
    fn default() -> Self {
        Self(None)
    }
}

impl<M: Module, I: Interface + ?Sized> Component<M> for Slot<I> {
    type Interface = I;
    type Parameters = Filled<I>;

    fn build(_: &mut ModuleBuildContext<M>, params: Filled<I>) -> Box<I> {
        // `feed` fills every slot from an `Assembly`, whose fields are not
        // optional; only a module built around it (not through `feed`)
        // can get here, which is a wiring bug, not an input to handle.
        #[allow(clippy::expect_used, reason = "an unfed slot is a wiring bug caught by every test")]
        params
            .0
            .expect("a port slot was not fed by the composition root (build the module with container::feed)")
    }
}

// Every port of the platform, resolved by interface.
module! {
    pub PlatformModule {
        components = [
            // Served by adapters, built by the port families in `compose`.
            Slot<dyn UnitOfWork>,
            Slot<dyn UserRepository>,
            Slot<dyn RoleRepository>,
            Slot<dyn RefreshTokenStore>,
            Slot<dyn VerificationTokenStore>,
            Slot<dyn AuditStore>,
            Slot<dyn PostRepository>,
            Slot<dyn Outbox>,
            Slot<dyn ProcessedEvents>,
            Slot<dyn AuthorStats>,
            Slot<dyn ApiKeyRepository>,
            Slot<dyn WebhookRepository>,
            Slot<dyn Cache>,
            Slot<dyn EventBus>,
            Slot<dyn JobQueue>,
            Slot<dyn JobAdmin>,
            Slot<dyn Scheduler>,
            Slot<dyn BlobStore>,
            Slot<dyn SignedUrlVerifier>,
            Slot<dyn FileRepository>,
            Slot<dyn Mailer>,
            Slot<dyn NotifyChannels>,
            Slot<dyn Metrics>,
            Slot<dyn ErrorPublisher>,
            Slot<dyn PasswordHasher>,
            Slot<dyn TokenCodec>,
            Slot<dyn OpaqueTokens>,
            // The domain (core), configured in `domain`.
            CompositeHealthRegistry,
            SystemClock,
            UuidV7Generator,
            UserManager,
            RoleManager,
            AuditService,
            HmacCheckpointSigner,
            TemplateNotifier,
            AuthService,
            CachedPermissionResolver,
            RbacAuthorizer,
            CacheRateLimiter,
            BlogManager,
            ApiKeyManager,
            WebhookManager,
            FilesManager,
            DigestManager,
            // The application's settings its reactions read.
            EventRetentionPolicy,
            WebhookPolicy,
        ],
        providers = []
    }
}

fn fill<I: Interface + ?Sized>(builder: ModuleBuilder<PlatformModule>, port: Box<I>) -> ModuleBuilder<PlatformModule>
where
    PlatformModule: shaku::HasComponent<I>,
{
    builder.with_component_parameters::<Slot<I>>(Filled(Some(port)))
}

/// Feeds every port `assembly` built, and the domain's settings, to a module
/// builder. The one place the container meets the adapters.
///
/// # Errors
/// When the feature modules do not fit together (the permission catalog).
pub fn feed(assembly: Assembly, settings: &Settings) -> anyhow::Result<ModuleBuilder<PlatformModule>> {
    let Assembly {
        telemetry,
        persistence: p,
        cache,
        events,
        jobs,
        blob,
        notify,
        security,
        ..
    } = assembly;
    let mut b = PlatformModule::builder();
    b = fill(b, p.uow);
    b = fill(b, p.users);
    b = fill(b, p.roles);
    b = fill(b, p.refresh_tokens);
    b = fill(b, p.verification_tokens);
    b = fill(b, p.audit);
    b = fill(b, p.posts);
    b = fill(b, p.outbox);
    b = fill(b, p.processed);
    b = fill(b, p.author_stats);
    b = fill(b, p.api_keys);
    b = fill(b, p.webhooks);
    b = fill(b, cache);
    b = fill(b, events);
    b = fill(b, jobs.queue);
    b = fill(b, jobs.admin);
    b = fill(b, jobs.scheduler);
    b = fill(b, blob.store);
    b = fill(b, blob.verifier);
    b = fill(b, p.files);
    b = fill(b, notify.mailer);
    b = b.with_component_parameters::<TemplateNotifier>(TemplateNotifierParameters {
        templates: notify.channels.templates.clone(),
        webhooks: notify.channels.webhooks.clone(),
        sms: notify.channels.sms.clone(),
        push: notify.channels.push.clone(),
    });
    b = fill(b, Box::new(notify.channels) as Box<dyn NotifyChannels>);
    b = fill(b, telemetry.metrics_port);
    b = fill(b, telemetry.errors);
    b = fill(b, security.hasher);
    b = fill(b, security.codec);
    b = fill(b, security.opaque);
    b = b.with_component_parameters::<EventRetentionPolicy>(EventRetentionPolicyParameters {
        processed_events: settings.event_bus.processed_retention,
    });
    let w = &settings.webhooks;
    b = b.with_component_parameters::<WebhookPolicy>(WebhookPolicyParameters {
        max_attempts: w.max_attempts,
        initial: w.retry_initial,
        max: w.retry_max,
    });
    domain::configure(b, settings)
}
