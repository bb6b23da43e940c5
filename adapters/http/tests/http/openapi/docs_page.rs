//! `/docs`: an HTML page served from the binary, loading nothing from
//! elsewhere.

use platform_ports::authz::MockAuthorizer;

use super::serve;

#[tokio::test]
async fn docs_is_self_contained_html_that_reads_the_document() {
    let app = serve(MockAuthorizer::new()).await;
    let response = app.get("/docs").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{:?}",
        response.headers()
    );
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert!(policy.contains("connect-src 'self'"), "{policy}");
    let html = response.text().await.unwrap();
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("<script>") && html.contains("<style>"));
    assert!(
        html.contains("fetch(\"/openapi.json\""),
        "the page loads the served document"
    );
    let lower = html.to_lowercase();
    for external in ["http://", "https://", "<script src", "<link", "@import", "url("] {
        assert!(!lower.contains(external), "the page references `{external}`");
    }
}
