//! Background services started and stopped by the lifecycle.

use async_trait::async_trait;

use crate::BoxError;

/// A component with work running in the background (relay, consumers,
/// workers, batch writers). Bootstrap starts them in order and stops them in
/// reverse order on shutdown.
#[async_trait]
pub trait BackgroundService: Send + Sync {
    /// The name used in logs.
    fn name(&self) -> &'static str;

    /// Starts the background work.
    ///
    /// # Errors
    /// Any error aborts start-up.
    async fn start(&self) -> Result<(), BoxError>;

    /// Stops it, finishing or persisting what was accepted (flush queues).
    ///
    /// # Errors
    /// Logged; shutdown continues with the next service.
    async fn stop(&self) -> Result<(), BoxError>;
}
