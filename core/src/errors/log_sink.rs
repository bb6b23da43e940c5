//! [`LogSink`]: every published error as one `tracing` event.

use async_trait::async_trait;
use platform_ports::error_bus::{ErrorReport, ErrorSink};

/// The `tracing` target of the error bus's events, so they can be routed on their own.
pub const ERROR_BUS_TARGET: &str = "platform::error_bus";

/// Emits each report as an `error` event on [`ERROR_BUS_TARGET`], with its
/// context (request, user, tenant, trace, module) as fields.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogSink;

impl LogSink {
    /// Logs one report; also used for reports that arrive after the bus stopped.
    pub fn log(report: &ErrorReport) {
        let ctx = &report.context;
        tracing::error!(
            target: ERROR_BUS_TARGET,
            message = %report.message,
            chain = ?report.chain,
            request_id = ctx.request_id.as_deref(),
            user_id = ctx.user_id.map(display),
            tenant_id = ctx.tenant_id.map(display),
            trace_id = ctx.trace_id.as_deref(),
            module = ctx.module.as_deref(),
            occurred_at = %report.occurred_at,
        );
    }
}

#[async_trait]
impl ErrorSink for LogSink {
    fn name(&self) -> &'static str {
        "log"
    }

    async fn emit(&self, report: &ErrorReport) {
        Self::log(report);
    }
}
