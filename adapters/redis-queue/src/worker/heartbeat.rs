//! asynq's heartbeat: every few seconds, extend the leases of the tasks in
//! hand (signalling those whose lease already ran out) and write this
//! server's `ServerInfo` and one `WorkerInfo` per task, both expiring after
//! two beats, so asynqmon lists the server and what it runs.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use prost::Message as _;

use super::WorkerShared;
use crate::keys;
use crate::proto::{ServerInfo, Timestamp, WorkerInfo};

/// Server and worker keys of this server.
pub(crate) fn state_keys(shared: &WorkerShared) -> (String, String) {
    let id = &shared.identity;
    (
        keys::server_info(&id.host, id.pid, &id.server_id),
        keys::workers(&id.host, id.pid, &id.server_id),
    )
}

/// The server's `ServerInfo`.
pub(crate) fn server_info(shared: &WorkerShared, status: &str, active: usize) -> ServerInfo {
    let id = &shared.identity;
    ServerInfo {
        host: id.host.clone(),
        pid: i32::try_from(id.pid).unwrap_or(i32::MAX),
        server_id: id.server_id.clone(),
        concurrency: i32::try_from(shared.core.settings.concurrency).unwrap_or(i32::MAX),
        // As configured (asynq writes the weights before normalising them).
        queues: shared
            .core
            .settings
            .queues
            .iter()
            .map(|(queue, weight)| (queue.clone(), i32::try_from(*weight).unwrap_or(i32::MAX)))
            .collect(),
        strict_priority: shared.order.is_strict(),
        status: status.to_owned(),
        start_time: Some(Timestamp::from(id.started)),
        active_worker_count: i32::try_from(active).unwrap_or(i32::MAX),
    }
}

/// One beat.
pub(crate) async fn beat(shared: &Arc<WorkerShared>) {
    let tasks = shared.inflight.snapshot();
    let id = &shared.identity;
    let mut by_queue: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut workers = Vec::with_capacity(tasks.len());
    for task in &tasks {
        let message = &task.message;
        let worker = WorkerInfo {
            host: id.host.clone(),
            pid: i32::try_from(id.pid).unwrap_or(i32::MAX),
            server_id: id.server_id.clone(),
            task_id: message.id.clone(),
            task_type: message.r#type.clone(),
            task_payload: message.payload.clone(),
            queue: message.queue.clone(),
            start_time: Some(Timestamp::from(task.started)),
            deadline: Some(Timestamp::from(task.deadline)),
        };
        workers.push((message.id.clone(), worker.encode_to_vec()));
        if task.lease_valid() {
            by_queue
                .entry(message.queue.clone())
                .or_default()
                .push(message.id.clone());
        } else {
            task.lost.notify_one();
        }
    }
    let settings = &shared.core.settings;
    let (server_key, workers_key) = state_keys(shared);
    let info = server_info(shared, "active", tasks.len()).encode_to_vec();
    let ttl = settings.timings.heartbeat_interval * 2;
    let ttl = ttl.max(std::time::Duration::from_secs(1));
    if let Err(err) = shared
        .core
        .broker
        .write_server_state(&server_key, &workers_key, info, workers, ttl)
        .await
    {
        tracing::error!(error = %err, "could not write the server state");
    }
    let lease = chrono::Duration::from_std(settings.timings.lease).unwrap_or(chrono::Duration::MAX);
    let until = Utc::now() + lease;
    let by_queue: Vec<_> = by_queue.into_iter().collect();
    match shared.core.broker.extend_leases(&by_queue, until.timestamp()).await {
        Ok(()) => {
            for task in &tasks {
                task.extend(until);
            }
        }
        Err(err) => tracing::error!(error = %err, "could not extend the leases of the tasks in hand"),
    }
}
