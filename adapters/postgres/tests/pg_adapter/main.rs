//! What the PostgreSQL adapter promises beyond the shared contract:
//! migrations, the audit trigger, outbox claims across instances, batched
//! appends, unit-of-work failure handling, instrumentation and health.

// clippy's allow-unwrap-in-tests does not reach the helpers of a test binary.
#![allow(clippy::unwrap_used)]

#[path = "../support/mod.rs"]
mod support;

mod audit;
mod health;
mod migrations;
mod outbox;
mod processed;
mod rls;
mod uow;
