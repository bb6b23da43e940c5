//! The Jobs API over real HTTP: queues with their sizes and counters, a
//! queue's tasks by state with cursor pages, one task (by queue and id, and
//! by id alone), run / archive / delete, pause / resume, the audit entries
//! of those actions, the permissions, and stable problem codes for bad
//! input. Runs on whichever job queue the profile selects.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;
use std::time::Duration;

use platform_ports::jobs::{JobQueue, NewJob};
use platform_tests::{TestApp, assert_problem, expect, expect_json};
use reqwest::Method;
use serde_json::{Value, json};
use shaku::HasComponent;

const PASSWORD: &str = "correct-horse-battery";
/// A queue of this suite's own, so workers of the profile never touch it
/// before the test asks (its tasks are scheduled an hour ahead).
const QUEUE: &str = "jobs-api";

/// Enqueues `n` tasks due in an hour on [`QUEUE`]; returns their ids.
async fn scheduled(app: &TestApp, n: usize) -> Vec<String> {
    let jobs: Arc<dyn JobQueue> = app.module.resolve();
    let mut ids = Vec::new();
    for i in 0..n {
        let payload = serde_json::to_vec(&json!({"n": i})).unwrap();
        let job = NewJob::new(QUEUE, "test:no_handler", payload)
            .max_retries(3)
            .after(Duration::from_secs(3600));
        ids.push(jobs.enqueue(job).await.unwrap().to_string());
    }
    ids
}

/// A user holding `permissions` through a fresh role; returns their access token.
async fn member(app: &TestApp, admin: &str, email: &str, permissions: &[&str]) -> String {
    let user = app.register(email, PASSWORD).await.unwrap();
    let role = expect_json(
        app.post_as(
            admin,
            "roles",
            &json!({"name": email.replace(['@', '.'], "-"), "permissions": permissions}),
        )
        .await
        .unwrap(),
        201,
    )
    .await
    .unwrap();
    let resp = app
        .post_as(
            admin,
            &format!("users/{}/roles", user["id"].as_str().unwrap()),
            &json!({"role_id": role["id"]}),
        )
        .await
        .unwrap();
    expect(resp, 204).await.unwrap();
    app.login(email, PASSWORD).await.unwrap().access_token
}

async fn post(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.authed(Method::POST, path, token).send().await.unwrap()
}

async fn task(app: &TestApp, token: &str, id: &str) -> Value {
    expect_json(
        app.get_as(token, &format!("jobs/queues/{QUEUE}/tasks/{id}"))
            .await
            .unwrap(),
        200,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn queues_and_their_tasks_are_listed_paged_and_shown() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    let ids = scheduled(&app, 3).await;

    let queues = expect_json(app.get_as(&admin, "jobs/queues").await.unwrap(), 200)
        .await
        .unwrap();
    let ours = queues["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["queue"] == QUEUE)
        .unwrap();
    assert_eq!(
        (ours["scheduled"].as_u64(), ours["pending"].as_u64()),
        (Some(3), Some(0))
    );
    assert!(queues["next_cursor"].is_null());
    let queue = expect_json(app.get_as(&admin, &format!("jobs/queues/{QUEUE}")).await.unwrap(), 200)
        .await
        .unwrap();
    assert_eq!(
        (queue["size"].as_u64(), queue["paused"].as_bool()),
        (Some(3), Some(false))
    );
    for counter in [
        "processed_today",
        "failed_today",
        "processed_total",
        "failed_total",
        "latency_ms",
    ] {
        assert!(queue[counter].is_u64(), "{counter} in {queue}");
    }

    // Two pages by cursor: every task once.
    let path = format!("jobs/queues/{QUEUE}/tasks?state=scheduled&limit=2");
    let first = expect_json(app.get_as(&admin, &path).await.unwrap(), 200)
        .await
        .unwrap();
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = expect_json(
        app.get_as(&admin, &format!("{path}&cursor={cursor}")).await.unwrap(),
        200,
    )
    .await
    .unwrap();
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert!(second["next_cursor"].is_null());
    let mut listed: Vec<String> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(listed, expected);
    // No state means pending: none yet.
    let pending = expect_json(
        app.get_as(&admin, &format!("jobs/queues/{QUEUE}/tasks")).await.unwrap(),
        200,
    )
    .await
    .unwrap();
    assert_eq!(pending["items"], json!([]));

    // One task, by queue and id, and by id alone (what an enqueuer polls).
    let one = task(&app, &admin, &ids[0]).await;
    assert_eq!(one["id"], ids[0].as_str());
    assert_eq!(one["type"], "test:no_handler");
    assert_eq!(one["payload"], json!({"n": 0}));
    assert_eq!(one["state"], "scheduled");
    assert_eq!((one["retried"].as_u64(), one["max_retry"].as_u64()), (Some(0), Some(3)));
    assert!(one["last_error"].is_null() && one["completed_at"].is_null());
    let next = chrono::DateTime::parse_from_rfc3339(one["next_process_at"].as_str().unwrap()).unwrap();
    assert!(next > chrono::Utc::now() + chrono::Duration::minutes(59), "{one}");
    let by_id = expect_json(
        app.get_as(&admin, &format!("jobs/tasks/{}", ids[0])).await.unwrap(),
        200,
    )
    .await
    .unwrap();
    assert_eq!(by_id, one);
}

#[tokio::test]
async fn operators_run_archive_delete_pause_and_resume_and_each_is_audited() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    let ids = scheduled(&app, 3).await;
    let (archived, deleted, run) = (&ids[0], &ids[1], &ids[2]);

    let resp = post(&app, &admin, &format!("jobs/queues/{QUEUE}/tasks/{archived}/archive")).await;
    expect(resp, 204).await.unwrap();
    assert_eq!(task(&app, &admin, archived).await["state"], "archived");
    let again = post(&app, &admin, &format!("jobs/queues/{QUEUE}/tasks/{archived}/archive")).await;
    assert_problem(again, 409, "task_state_conflict").await.unwrap();

    let resp = app
        .authed(Method::DELETE, &format!("jobs/queues/{QUEUE}/tasks/{deleted}"), &admin)
        .send()
        .await
        .unwrap();
    expect(resp, 204).await.unwrap();
    let gone = app
        .get_as(&admin, &format!("jobs/queues/{QUEUE}/tasks/{deleted}"))
        .await
        .unwrap();
    assert_problem(gone, 404, "task_not_found").await.unwrap();
    let gone = app.get_as(&admin, &format!("jobs/tasks/{deleted}")).await.unwrap();
    assert_problem(gone, 404, "task_not_found").await.unwrap();

    // Run now: it leaves the schedule (no handler: it then fails into retry).
    let resp = post(&app, &admin, &format!("jobs/queues/{QUEUE}/tasks/{run}/run")).await;
    expect(resp, 204).await.unwrap();
    let state = task(&app, &admin, run).await["state"].clone();
    assert!(
        ["pending", "active", "retry"].contains(&state.as_str().unwrap()),
        "{state}"
    );

    let pause = format!("jobs/queues/{QUEUE}/pause");
    let resume = format!("jobs/queues/{QUEUE}/resume");
    expect(post(&app, &admin, &pause).await, 204).await.unwrap();
    assert_problem(post(&app, &admin, &pause).await, 409, "queue_already_paused")
        .await
        .unwrap();
    let queue = expect_json(app.get_as(&admin, &format!("jobs/queues/{QUEUE}")).await.unwrap(), 200)
        .await
        .unwrap();
    assert_eq!(queue["paused"], true);
    expect(post(&app, &admin, &resume).await, 204).await.unwrap();
    assert_problem(post(&app, &admin, &resume).await, 409, "queue_not_paused")
        .await
        .unwrap();

    // Every action left an entry naming the queue and the task.
    for (action, target) in [
        ("jobs.task_archived", format!("{QUEUE}/{archived}")),
        ("jobs.task_deleted", format!("{QUEUE}/{deleted}")),
        ("jobs.task_run", format!("{QUEUE}/{run}")),
        ("jobs.queue_paused", QUEUE.to_owned()),
        ("jobs.queue_resumed", QUEUE.to_owned()),
    ] {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let entries = expect_json(
                app.get_as(&admin, &format!("audit?action={action}")).await.unwrap(),
                200,
            )
            .await
            .unwrap();
            let items = entries["items"].as_array().unwrap();
            if let Some(entry) = items.first() {
                assert_eq!(items.len(), 1, "{entries}");
                assert_eq!(entry["target_id"], target.as_str());
                assert_eq!(entry["metadata"]["queue"], QUEUE);
                break;
            }
            // The audit writer batches; give it a moment.
            assert!(tokio::time::Instant::now() < deadline, "no `{action}` audit entry");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test]
async fn bad_queues_states_cursors_and_ids_are_problems_with_stable_codes() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    let ids = scheduled(&app, 1).await;

    for path in ["jobs/queues/no-such-queue", "jobs/queues/no-such-queue/tasks"] {
        let resp = app.get_as(&admin, path).await.unwrap();
        assert_problem(resp, 404, "queue_not_found").await.unwrap();
    }
    let resp = app
        .get_as(&admin, &format!("jobs/queues/{QUEUE}/tasks?state=finished"))
        .await
        .unwrap();
    let problem = assert_problem(resp, 400, "invalid_parameter").await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "state");
    for cursor in ["not-a-cursor", "bm90LWEtbnVtYmVy"] {
        let resp = app
            .get_as(
                &admin,
                &format!("jobs/queues/{QUEUE}/tasks?state=scheduled&cursor={cursor}"),
            )
            .await
            .unwrap();
        // 422 as on every list: the shape is right, this list did not make it.
        let problem = assert_problem(resp, 422, "validation_failed").await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "cursor");
    }
    let resp = app
        .get_as(&admin, &format!("jobs/queues/{QUEUE}/tasks?limit=0"))
        .await
        .unwrap();
    assert_problem(resp, 400, "invalid_parameter").await.unwrap();
    let resp = app
        .get_as(&admin, &format!("jobs/queues/{QUEUE}/tasks/nope"))
        .await
        .unwrap();
    assert_problem(resp, 404, "task_not_found").await.unwrap();
    let resp = app.get_as(&admin, "jobs/tasks/nope").await.unwrap();
    assert_problem(resp, 404, "task_not_found").await.unwrap();
    let resp = post(&app, &admin, &format!("jobs/queues/{QUEUE}/tasks/nope/run")).await;
    assert_problem(resp, 404, "task_not_found").await.unwrap();
    // A pending task cannot be run now again (paused, so no worker takes it).
    expect(post(&app, &admin, &format!("jobs/queues/{QUEUE}/pause")).await, 204)
        .await
        .unwrap();
    let run = format!("jobs/queues/{QUEUE}/tasks/{}/run", ids[0]);
    expect(post(&app, &admin, &run).await, 204).await.unwrap();
    assert_problem(post(&app, &admin, &run).await, 409, "task_state_conflict")
        .await
        .unwrap();
}

#[tokio::test]
async fn reading_needs_jobs_read_and_acting_needs_jobs_manage() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    let ids = scheduled(&app, 1).await;
    let reader = member(&app, &admin, "reader@example.com", &["platform.jobs.read"]).await;
    let nobody = member(&app, &admin, "nobody@example.com", &["blog.post.read"]).await;

    let resp = app.request(Method::GET, "jobs/queues").send().await.unwrap();
    assert_problem(resp, 401, "unauthorized").await.unwrap();
    let resp = app.get_as(&nobody, "jobs/queues").await.unwrap();
    let problem = assert_problem(resp, 403, "forbidden").await.unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("platform.jobs.read"),
        "{problem}"
    );

    expect(app.get_as(&reader, "jobs/queues").await.unwrap(), 200)
        .await
        .unwrap();
    expect(
        app.get_as(&reader, &format!("jobs/tasks/{}", ids[0])).await.unwrap(),
        200,
    )
    .await
    .unwrap();
    let resp = post(&app, &reader, &format!("jobs/queues/{QUEUE}/pause")).await;
    let problem = assert_problem(resp, 403, "forbidden").await.unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("platform.jobs.manage"),
        "{problem}"
    );
    let resp = post(&app, &reader, &format!("jobs/queues/{QUEUE}/tasks/{}/archive", ids[0])).await;
    assert_problem(resp, 403, "forbidden").await.unwrap();

    // The permissions are declared (so roles can grant them) and the admin holds them.
    let permissions = expect_json(app.get_as(&admin, "permissions").await.unwrap(), 200)
        .await
        .unwrap();
    let text = permissions.to_string();
    assert!(
        text.contains("platform.jobs.read") && text.contains("platform.jobs.manage"),
        "{text}"
    );
}

#[tokio::test]
async fn the_jobs_api_is_documented_with_its_permissions() {
    let app = TestApp::spawn().await.unwrap();
    let doc: Value = expect_json(app.get("/openapi.json").await.unwrap(), 200).await.unwrap();
    let paths = &doc["paths"];
    for (path, method, permission) in [
        ("/api/v1/jobs/queues", "get", "platform.jobs.read"),
        ("/api/v1/jobs/queues/{queue}", "get", "platform.jobs.read"),
        ("/api/v1/jobs/queues/{queue}/pause", "post", "platform.jobs.manage"),
        ("/api/v1/jobs/queues/{queue}/resume", "post", "platform.jobs.manage"),
        ("/api/v1/jobs/queues/{queue}/tasks", "get", "platform.jobs.read"),
        ("/api/v1/jobs/queues/{queue}/tasks/{id}", "get", "platform.jobs.read"),
        (
            "/api/v1/jobs/queues/{queue}/tasks/{id}",
            "delete",
            "platform.jobs.manage",
        ),
        (
            "/api/v1/jobs/queues/{queue}/tasks/{id}/run",
            "post",
            "platform.jobs.manage",
        ),
        (
            "/api/v1/jobs/queues/{queue}/tasks/{id}/archive",
            "post",
            "platform.jobs.manage",
        ),
        ("/api/v1/jobs/tasks/{id}", "get", "platform.jobs.read"),
    ] {
        let op = &paths[path][method];
        assert!(op.is_object(), "{method} {path} undocumented");
        assert_eq!(op["x-permission"], permission, "{method} {path}");
    }
    assert!(doc["components"]["schemas"]["Task"].is_object());
}
