//! Test doubles that mockall cannot generate (a [`Tx`] records its outcome).

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use async_trait::async_trait;

use crate::StoreError;
use crate::persistence::Tx;

/// How a [`FakeTx`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxOutcome {
    /// Still open, or dropped without an outcome.
    Open,
    /// Committed.
    Committed,
    /// Rolled back.
    RolledBack,
}

/// A transaction that does nothing but remember whether it was committed.
#[derive(Clone, Debug, Default)]
pub struct FakeTx {
    outcome: Arc<AtomicU8>,
}

impl FakeTx {
    /// A new open transaction.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// How it ended (shared by every clone).
    #[must_use]
    pub fn outcome(&self) -> TxOutcome {
        match self.outcome.load(Ordering::SeqCst) {
            1 => TxOutcome::Committed,
            2 => TxOutcome::RolledBack,
            _ => TxOutcome::Open,
        }
    }
}

#[async_trait]
impl Tx for FakeTx {
    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        self.outcome.store(1, Ordering::SeqCst);
        Ok(())
    }

    async fn rollback(self: Box<Self>) -> Result<(), StoreError> {
        self.outcome.store(2, Ordering::SeqCst);
        Ok(())
    }

    fn as_any_mut(&mut self) -> &mut (dyn Any + Send) {
        self
    }
}

/// A [`TracePropagator`](crate::telemetry::TracePropagator) for adapter
/// tests, without OpenTelemetry: a span's context is its `tracing` id (so
/// a subscriber must be installed), under one fixed trace id. It records
/// which span adopted which `traceparent`.
#[derive(Debug, Default)]
pub struct RecordingPropagator {
    adopted: std::sync::Mutex<Vec<(Option<u64>, String)>>,
}

/// The trace id every [`RecordingPropagator`] context names.
pub const RECORDED_TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

impl RecordingPropagator {
    /// Installs the process's recording propagator (once; later calls
    /// return the same one). Panics when another propagator was installed.
    pub fn install() -> &'static Self {
        static ONE: std::sync::OnceLock<&'static RecordingPropagator> = std::sync::OnceLock::new();
        ONE.get_or_init(|| {
            let recorder: &'static Self = Box::leak(Box::default());
            assert!(
                crate::telemetry::install(Box::new(recorder)),
                "another trace propagator is installed"
            );
            recorder
        })
    }

    /// The `traceparent` naming `span`, `None` when the span is disabled.
    pub fn traceparent_of(span: &tracing::Span) -> Option<String> {
        span.id()
            .map(|id| format!("00-{RECORDED_TRACE_ID}-{:016x}-01", id.into_u64()))
    }

    /// Every (adopting span id, `traceparent`) so far.
    pub fn adopted(&self) -> Vec<(Option<u64>, String)> {
        self.adopted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl crate::telemetry::TracePropagator for &'static RecordingPropagator {
    fn current(&self) -> Option<String> {
        RecordingPropagator::traceparent_of(&tracing::Span::current())
    }

    fn adopt(&self, span: &tracing::Span, traceparent: &str) {
        self.adopted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((span.id().map(|id| id.into_u64()), traceparent.to_owned()));
    }
}
