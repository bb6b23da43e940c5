//! Refresh-token rotation, reuse detection and the grace window.

use platform_tests::{TestApp, assert_problem};

use crate::support::user_session;

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    // No grace: any second use of a rotated token is a replay.
    let app = TestApp::spawn_with_overrides(&[("PLATFORM__AUTH__REFRESH_REUSE_GRACE", "0s")])
        .await
        .unwrap();
    let (user, first) = user_session(&app, "ivan@example.com").await;

    let second = app.refresh(&first.refresh_token).await.unwrap();
    assert_ne!(second.refresh_token, first.refresh_token, "refresh must rotate");
    assert_ne!(second.access_token, first.access_token);
    assert_eq!(second.token_type, "Bearer");
    assert_eq!(second.expires_in, 900);
    assert_eq!(app.me(&second.access_token).await.unwrap()["id"], user["id"]);

    let replay = app.try_refresh(&first.refresh_token).await.unwrap();
    assert_problem(replay, 401, "invalid_token").await.unwrap();
    // The replay revoked the whole family: the legitimate successor is dead too.
    let successor = app.try_refresh(&second.refresh_token).await.unwrap();
    assert_problem(successor, 401, "invalid_token").await.unwrap();

    // Another session of the same user is another family and lives on.
    let other = app.login("ivan@example.com", crate::support::PASSWORD).await.unwrap();
    app.refresh(&other.refresh_token).await.unwrap();
}

#[tokio::test]
async fn a_double_refresh_within_the_grace_window_returns_the_same_successor() {
    // Default configuration: 10 s grace.
    let app = TestApp::spawn().await.unwrap();
    let (_, tokens) = user_session(&app, "judy@example.com").await;

    let a = app.refresh(&tokens.refresh_token).await.unwrap();
    let b = app.refresh(&tokens.refresh_token).await.unwrap();
    assert_ne!(a.refresh_token, tokens.refresh_token);
    assert_eq!(
        a.refresh_token, b.refresh_token,
        "a retried refresh must get the same successor, not log the user out"
    );
    // The successor is live: the family was not revoked.
    let next = app.refresh(&a.refresh_token).await.unwrap();
    assert_ne!(next.refresh_token, a.refresh_token);
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_both_succeed_alike() {
    let app = TestApp::spawn().await.unwrap();
    let (_, tokens) = user_session(&app, "mallory@example.com").await;

    let (a, b) = tokio::join!(app.refresh(&tokens.refresh_token), app.refresh(&tokens.refresh_token));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.refresh_token, b.refresh_token);
    assert_ne!(a.refresh_token, tokens.refresh_token);
    app.refresh(&a.refresh_token).await.unwrap();
}

#[tokio::test]
async fn garbage_refresh_tokens_are_401() {
    let app = TestApp::spawn().await.unwrap();
    for token in ["garbage", "a.b.c"] {
        let resp = app.try_refresh(token).await.unwrap();
        assert_problem(resp, 401, "invalid_token").await.unwrap();
    }
}
