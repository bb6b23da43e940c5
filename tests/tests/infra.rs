//! What only real infrastructure can show: state that survives a restart and
//! is shared by several instances (PostgreSQL + Redis profile). On the memory
//! profile these tests say so and return: each instance has its own memory.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use platform_bootstrap::config::{CacheDriver, DatabaseDriver};
use platform_tests::{TestApp, expect_json, test_settings};
use serde_json::json;

const PASSWORD: &str = "correct-horse-battery";

fn shared_profile() -> bool {
    let s = test_settings(&[]).unwrap();
    let shared = s.database.driver == DatabaseDriver::Postgres && s.cache.driver == CacheDriver::Redis;
    if !shared {
        // Straight to stderr: the test harness captures `eprintln!`.
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "*** SKIPPED: needs the postgres + redis profile (PLATFORM_TEST__DATABASE__DRIVER=postgres, PLATFORM_TEST__CACHE__DRIVER=redis) ***"
        );
    }
    shared
}

#[tokio::test]
async fn a_user_created_before_a_restart_logs_in_after_it() {
    if !shared_profile() {
        return;
    }
    let owner = TestApp::spawn().await.unwrap();
    let before = TestApp::spawn_sharing(&owner).await.unwrap();
    before.register("persist@example.com", PASSWORD).await.unwrap();
    before.stop().await.unwrap();

    let after = TestApp::spawn_sharing(&owner).await.unwrap();
    let tokens = after.login("persist@example.com", PASSWORD).await.unwrap();
    assert_eq!(
        after.me(&tokens.access_token).await.unwrap()["email"],
        "persist@example.com"
    );
}

#[tokio::test]
async fn a_role_change_through_one_instance_is_seen_by_another_at_once() {
    if !shared_profile() {
        return;
    }
    let a = TestApp::spawn().await.unwrap();
    let b = TestApp::spawn_sharing(&a).await.unwrap();
    let user = a.register("reader@example.com", PASSWORD).await.unwrap();
    let token = b.login("reader@example.com", PASSWORD).await.unwrap().access_token;

    // B resolves (and caches) the user's permissions: none yet.
    assert_eq!(b.get_as(&token, "users").await.unwrap().status(), 403);

    // The admin grants them through A.
    let admin = a.admin_token().await.unwrap();
    let role = expect_json(
        a.post_as(
            &admin,
            "roles",
            &json!({"name": "readers", "permissions": ["identity.user.read"]}),
        )
        .await
        .unwrap(),
        201,
    )
    .await
    .unwrap();
    let resp = a
        .post_as(
            &admin,
            &format!("users/{}/roles", user["id"].as_str().unwrap()),
            &json!({"role_id": role["id"]}),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);

    // B sees it on the very next request: the shared Redis entry was invalidated.
    assert_eq!(b.get_as(&token, "users").await.unwrap().status(), 200);
}
