//! The error bus (the seed's `ErrorPublisher`) and its sinks.

use std::borrow::Cow;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use shaku::Interface;

use crate::model::{RequestContext, TenantId, UserId};

/// Where an error happened.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ErrorContext {
    /// The request it happened in.
    pub request_id: Option<Arc<str>>,
    /// The acting user.
    pub user_id: Option<UserId>,
    /// The tenant.
    pub tenant_id: Option<TenantId>,
    /// The trace.
    pub trace_id: Option<Arc<str>>,
    /// The module that reported it (`http`, `identity`, `outbox`...).
    pub module: Option<Cow<'static, str>>,
}

impl From<&RequestContext> for ErrorContext {
    fn from(ctx: &RequestContext) -> Self {
        Self {
            request_id: Some(ctx.request_id.clone()),
            user_id: ctx.user_id(),
            tenant_id: Some(ctx.tenant_id),
            trace_id: ctx.trace_id.clone(),
            module: None,
        }
    }
}

/// An error as the bus carries it: owned text, so it outlives the failure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ErrorReport {
    /// The error's message.
    pub message: String,
    /// Messages of its sources, outermost first.
    pub chain: Vec<String>,
    /// Where it happened.
    pub context: ErrorContext,
    /// When it was reported.
    pub occurred_at: DateTime<Utc>,
}

impl ErrorReport {
    /// Captures an error and its source chain.
    #[must_use]
    pub fn from_error(err: &(dyn std::error::Error + 'static)) -> Self {
        let mut chain = Vec::new();
        let mut source = err.source();
        while let Some(s) = source {
            chain.push(s.to_string());
            source = s.source();
        }
        Self {
            message: err.to_string(),
            chain,
            context: ErrorContext::default(),
            occurred_at: Utc::now(),
        }
    }

    /// A report from a message alone (a panic payload, say).
    pub fn message(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            chain: Vec::new(),
            context: ErrorContext::default(),
            occurred_at: Utc::now(),
        }
    }

    /// Names the reporting module.
    #[must_use]
    pub fn in_module(mut self, module: impl Into<Cow<'static, str>>) -> Self {
        self.context.module = Some(module.into());
        self
    }
}

/// Publishes errors without ever blocking the caller.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait ErrorPublisher: Interface {
    /// Queues a report; when the queue is full the report is counted as dropped.
    fn publish(&self, report: ErrorReport);

    /// Queues a report with the request's context (request id, user, tenant,
    /// trace) filled in where the report has none.
    fn publish_with_context(&self, ctx: &RequestContext, report: ErrorReport);
}

/// Receives every published error (log now; a Sentry-compatible sink later).
#[async_trait]
pub trait ErrorSink: Send + Sync {
    /// The sink's name, for logs.
    fn name(&self) -> &'static str;

    /// Delivers one report. Sinks swallow their own failures (and log them):
    /// the error bus must never fail because reporting failed.
    async fn emit(&self, report: &ErrorReport);
}
