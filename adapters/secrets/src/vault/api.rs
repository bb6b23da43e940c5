//! Requests to one Vault server: address, namespace header, token header.

use http::header::HeaderValue;
use http::{Method, Request};
use platform_ports::model::SecretString;

use crate::http::{Answer, HttpClient, json_body, transport};
use crate::retry::Failure;

/// The HTTP side of a Vault server.
pub(crate) struct VaultApi {
    pub(crate) http: HttpClient,
    /// Without a trailing slash.
    pub(crate) address: String,
    pub(crate) namespace: Option<String>,
}

impl VaultApi {
    /// Sends `{method} {address}/v1/{path}` with the namespace, the token and
    /// the JSON body when given; any answer is returned, no answer is transient.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&SecretString>,
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, Failure> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}/v1/{path}", self.address));
        if let Some(namespace) = &self.namespace {
            request = request.header("X-Vault-Namespace", namespace);
        }
        if let Some(token) = token {
            let mut value = HeaderValue::from_str(token.expose())
                .map_err(|_| Failure::Denied("the Vault token is not a valid header value".into()))?;
            // Kept out of hyper's debug output.
            value.set_sensitive(true);
            request = request.header("X-Vault-Token", value);
        }
        let body = match body {
            Some(body) => {
                request = request.header("Content-Type", "application/json");
                json_body(body)
            }
            None => http_body_util::Full::default(),
        };
        let request = request
            .body(body)
            .map_err(|e| Failure::Unreadable(format!("{path}: cannot build the request: {e}").into()))?;
        self.http.send(request).await.map_err(transport)
    }
}
