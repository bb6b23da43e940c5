//! Settings → adapter parameters: the one place configuration meets adapters.

use platform_adapter_localfs::{
    FileMailerParameters, FileMailerSettings, LocalBlobSettings, LocalBlobStoreParameters,
};
use platform_adapter_memory::{InProcessBusSettings, MemoryJobQueueSettings};
use platform_core::health::CompositeHealthRegistryParameters;

use crate::config::Settings;

pub(crate) fn bus_settings(s: &Settings) -> InProcessBusSettings {
    InProcessBusSettings {
        queue_capacity: s.event_bus.queue_capacity,
        max_retries: s.event_bus.max_retries,
        initial_backoff: s.event_bus.initial_backoff,
        max_backoff: s.event_bus.max_backoff,
        drain_timeout: s.server.shutdown_timeout,
        ..InProcessBusSettings::default()
    }
}

pub(crate) fn job_settings(s: &Settings) -> MemoryJobQueueSettings {
    MemoryJobQueueSettings {
        concurrency: s.scheduler.concurrency,
        shutdown_timeout: s.server.shutdown_timeout,
        ..MemoryJobQueueSettings::default()
    }
}

pub(crate) fn blob_params(s: &Settings) -> LocalBlobStoreParameters {
    LocalBlobStoreParameters {
        settings: LocalBlobSettings {
            root: s.blob.local.root.clone(),
            public_base_url: s.blob.local.public_base_url.clone(),
            signing_key: s.blob.signing_key.clone(),
        },
    }
}

pub(crate) fn mail_params(s: &Settings) -> FileMailerParameters {
    FileMailerParameters {
        settings: FileMailerSettings {
            dir: s.mail.file.dir.clone(),
            from: s.mail.from.clone(),
        },
    }
}

pub(crate) fn health_params(s: &Settings) -> CompositeHealthRegistryParameters {
    CompositeHealthRegistryParameters {
        timeout: s.health.check_timeout,
    }
}
