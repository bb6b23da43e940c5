//! The event bus (`event_bus.driver`).

use std::sync::Arc;

use platform_adapter_memory::{InProcessBusSettings, InProcessEventBus};
use platform_ports::events::EventBus;

use super::{Built, Parts, serve};
use crate::config::{EventBusDriver, Settings};

/// The event bus port.
pub type EventPorts = Box<dyn EventBus>;

/// Builds the configured bus; its delivery runs as a background service.
///
/// # Errors
/// When the configured driver has no adapter in this build (naming the key).
pub fn build(settings: &Settings) -> anyhow::Result<Built<EventPorts>> {
    let mut parts = Parts::default();
    let e = &settings.event_bus;
    let ports = match e.driver {
        EventBusDriver::Inprocess => {
            let bus = InProcessEventBus::new(InProcessBusSettings {
                queue_capacity: e.queue_capacity,
                max_retries: e.max_retries,
                initial_backoff: e.initial_backoff,
                max_backoff: e.max_backoff,
                drain_timeout: settings.server.shutdown_timeout,
                ..InProcessBusSettings::default()
            });
            parts.service(Arc::new(bus.clone()));
            serve!(parts, EventBus, bus)
        }
        EventBusDriver::Kafka => {
            anyhow::bail!("event_bus.driver: `kafka` has no adapter in this build yet; use `inprocess`")
        }
    };
    Ok(Built { ports, parts })
}
