//! Rate limits on login, per account and per client address: 429 problem+json with `Retry-After`.

use platform_tests::TestApp;
use platform_tests::assert_problem;

const PASSWORD: &str = "a long enough password";

#[tokio::test]
async fn login_is_limited_per_account_then_per_address() {
    let app = TestApp::spawn_with_overrides(&[
        ("PLATFORM__RATE_LIMIT__LOGIN__PER_ACCOUNT", "3"),
        ("PLATFORM__RATE_LIMIT__LOGIN__PER_IP", "5"),
        ("PLATFORM__RATE_LIMIT__LOGIN__WINDOW", "1m"),
    ])
    .await
    .unwrap();
    app.register("ada@example.com", PASSWORD).await.unwrap();

    for _ in 0..3 {
        assert_eq!(
            app.try_login("ada@example.com", "wrong password!!")
                .await
                .unwrap()
                .status(),
            401
        );
    }
    // The account is locked for the window, even with the right password.
    let resp = app.try_login("ada@example.com", PASSWORD).await.unwrap();
    let retry_after: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert_problem(resp, 429, "rate_limited").await.unwrap();

    // Another account from the same address still gets through until the
    // address's own limit (5 attempts in the window) is spent.
    assert_eq!(app.try_login("bob@example.com", PASSWORD).await.unwrap().status(), 401);
    let resp = app.try_login("bob@example.com", PASSWORD).await.unwrap();
    assert_problem(resp, 429, "rate_limited").await.unwrap();
}
