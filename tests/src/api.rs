//! Request builders, the auth flows every suite needs, and response checks.

use anyhow::{Context, anyhow, ensure};
use reqwest::header::{CONTENT_TYPE, HeaderMap, WWW_AUTHENTICATE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::TestApp;
use crate::{ADMIN_EMAIL, ADMIN_PASSWORD};

/// The body of a successful login or refresh.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct TokenPair {
    /// The JWT access token.
    pub access_token: String,
    /// The opaque (or JWT) refresh token.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Access token lifetime in seconds.
    pub expires_in: u64,
}

/// A response read to the end, so it can be inspected more than once.
#[derive(Clone, Debug)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub body: String,
    /// The URL that answered.
    pub url: String,
}

impl Reply {
    /// Reads `resp` completely.
    ///
    /// # Errors
    /// When the body cannot be read.
    pub async fn read(resp: Response) -> anyhow::Result<Self> {
        let status = resp.status();
        let headers = resp.headers().clone();
        let url = resp.url().to_string();
        let body = resp.text().await.context("reading the response body")?;
        Ok(Self {
            status,
            headers,
            body,
            url,
        })
    }

    /// The body parsed as JSON.
    ///
    /// # Errors
    /// When it is not JSON.
    pub fn json(&self) -> anyhow::Result<Value> {
        serde_json::from_str(&self.body).with_context(|| format!("{} answered non-JSON: {:?}", self.url, self.body))
    }

    /// A header's value as text, if present and printable.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Reads `resp` and checks its status.
///
/// # Errors
/// When the status differs (the error shows the body) or the body cannot be read.
pub async fn expect(resp: Response, status: u16) -> anyhow::Result<Reply> {
    let reply = Reply::read(resp).await?;
    ensure!(
        reply.status.as_u16() == status,
        "{} answered {} instead of {status}: {}",
        reply.url,
        reply.status,
        reply.body
    );
    Ok(reply)
}

/// Reads `resp`, checks its status and parses the JSON body.
///
/// # Errors
/// When the status differs or the body is not JSON.
pub async fn expect_json(resp: Response, status: u16) -> anyhow::Result<Value> {
    expect(resp, status).await?.json()
}

/// Checks that `resp` is an `application/problem+json` body with `status` and
/// `code`, carrying the request id; a 401 must also carry `WWW-Authenticate: Bearer`.
/// Returns the problem body.
///
/// # Errors
/// When any of that does not hold.
pub async fn assert_problem(resp: Response, status: u16, code: &str) -> anyhow::Result<Value> {
    let reply = expect(resp, status).await?;
    let content_type = reply.header(CONTENT_TYPE.as_str()).unwrap_or_default();
    ensure!(
        content_type.starts_with("application/problem+json"),
        "{}: content type {content_type:?} is not application/problem+json: {}",
        reply.url,
        reply.body
    );
    let body = reply.json()?;
    ensure!(
        body["status"] == status,
        "{}: problem status field is not {status}: {body}",
        reply.url
    );
    ensure!(
        body["code"] == code,
        "{}: expected code {code:?}, got {body}",
        reply.url
    );
    let request_id = body["request_id"]
        .as_str()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| anyhow!("{}: problem has no request_id: {body}", reply.url))?;
    if let Some(header) = reply.header("x-request-id") {
        ensure!(
            header == request_id,
            "{}: request_id {request_id:?} differs from x-request-id {header:?}",
            reply.url
        );
    }
    if status == 401 {
        let challenge = reply.header(WWW_AUTHENTICATE.as_str()).unwrap_or_default();
        ensure!(
            challenge.starts_with("Bearer"),
            "{}: a 401 must carry `WWW-Authenticate: Bearer`, got {challenge:?}",
            reply.url
        );
    }
    Ok(body)
}

/// The `(field, code)` pairs of a 422 problem's `errors`.
#[must_use]
pub fn field_errors(problem: &Value) -> Vec<(String, String)> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap_or_default().to_owned(),
                        e["code"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

impl TestApp {
    /// The URL of `path` under `/api/v1/` (`"users/me"` → `http://addr/api/v1/users/me`).
    #[must_use]
    pub fn api_url(&self, path: &str) -> String {
        self.url(&format!("/api/v1/{}", path.trim_start_matches('/')))
    }

    /// An unauthenticated request to an API path.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.api_url(path))
    }

    /// A request to an API path with `Authorization: Bearer {token}`.
    pub fn authed(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.request(method, path).bearer_auth(token)
    }

    /// POSTs `body` as JSON to an API path without credentials.
    ///
    /// # Errors
    /// Transport errors.
    pub async fn post_json(&self, path: &str, body: &Value) -> anyhow::Result<Response> {
        Ok(self.request(Method::POST, path).json(body).send().await?)
    }

    /// GET an API path as the holder of `token`.
    ///
    /// # Errors
    /// Transport errors.
    pub async fn get_as(&self, token: &str, path: &str) -> anyhow::Result<Response> {
        Ok(self.authed(Method::GET, path, token).send().await?)
    }

    /// POST JSON to an API path as the holder of `token`.
    ///
    /// # Errors
    /// Transport errors.
    pub async fn post_as(&self, token: &str, path: &str, body: &Value) -> anyhow::Result<Response> {
        Ok(self.authed(Method::POST, path, token).json(body).send().await?)
    }

    /// PATCH JSON to an API path as the holder of `token`.
    ///
    /// # Errors
    /// Transport errors.
    pub async fn patch_as(&self, token: &str, path: &str, body: &Value) -> anyhow::Result<Response> {
        Ok(self.authed(Method::PATCH, path, token).json(body).send().await?)
    }

    /// PUT JSON to an API path as the holder of `token`.
    ///
    /// # Errors
    /// Transport errors.
    pub async fn put_as(&self, token: &str, path: &str, body: &Value) -> anyhow::Result<Response> {
        Ok(self.authed(Method::PUT, path, token).json(body).send().await?)
    }

    /// DELETE an API path as the holder of `token`.
    ///
    /// # Errors
    /// Transport errors.
    pub async fn delete_as(&self, token: &str, path: &str) -> anyhow::Result<Response> {
        Ok(self.authed(Method::DELETE, path, token).send().await?)
    }

    /// POST `auth/register` and return the raw response.
    ///
    /// # Errors
    /// Transport errors.
    pub async fn try_register(&self, email: &str, password: &str) -> anyhow::Result<Response> {
        self.post_json("auth/register", &json!({ "email": email, "password": password }))
            .await
    }

    /// Registers a user in the default tenant and returns the created user.
    ///
    /// # Errors
    /// When the answer is not 201 with a JSON user.
    pub async fn register(&self, email: &str, password: &str) -> anyhow::Result<Value> {
        expect_json(self.try_register(email, password).await?, 201).await
    }

    /// POST `auth/login` and return the raw response.
    ///
    /// # Errors
    /// Transport errors.
    pub async fn try_login(&self, email: &str, password: &str) -> anyhow::Result<Response> {
        self.post_json("auth/login", &json!({ "email": email, "password": password }))
            .await
    }

    /// Logs in to the default tenant.
    ///
    /// # Errors
    /// When the answer is not 200 with a token pair.
    pub async fn login(&self, email: &str, password: &str) -> anyhow::Result<TokenPair> {
        let reply = expect(self.try_login(email, password).await?, 200).await?;
        serde_json::from_str(&reply.body).with_context(|| format!("login answered no token pair: {}", reply.body))
    }

    /// POST `auth/refresh` with `refresh_token` and return the raw response.
    ///
    /// # Errors
    /// Transport errors.
    pub async fn try_refresh(&self, refresh_token: &str) -> anyhow::Result<Response> {
        self.post_json("auth/refresh", &json!({ "refresh_token": refresh_token }))
            .await
    }

    /// Rotates `refresh_token`.
    ///
    /// # Errors
    /// When the answer is not 200 with a token pair.
    pub async fn refresh(&self, refresh_token: &str) -> anyhow::Result<TokenPair> {
        let reply = expect(self.try_refresh(refresh_token).await?, 200).await?;
        serde_json::from_str(&reply.body).with_context(|| format!("refresh answered no token pair: {}", reply.body))
    }

    /// An access token of the bootstrap administrator.
    ///
    /// # Errors
    /// When the administrator cannot log in.
    pub async fn admin_token(&self) -> anyhow::Result<String> {
        let email = if self.settings.admin.email.is_empty() {
            ADMIN_EMAIL
        } else {
            &self.settings.admin.email
        };
        let password = if self.settings.admin.password.is_empty() {
            ADMIN_PASSWORD
        } else {
            self.settings.admin.password.expose()
        };
        Ok(self.login(email, password).await?.access_token)
    }

    /// `GET users/me` as the holder of `token`.
    ///
    /// # Errors
    /// When the answer is not 200 with a JSON user.
    pub async fn me(&self, token: &str) -> anyhow::Result<Value> {
        expect_json(self.get_as(token, "users/me").await?, 200).await
    }
}
