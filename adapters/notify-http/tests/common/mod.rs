//! A fake HTTP API on port 0 that records every request and answers from a
//! closure, for checking requests as the real APIs document them.

#![allow(dead_code, reason = "each test binary uses part of the support code")]

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Request, StatusCode, Version};
use axum::response::{IntoResponse, Response};

/// One request the fake received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub version: Version,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {self:?}"))
            .to_str()
            .unwrap()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// The form fields of an `application/x-www-form-urlencoded` body.
    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body).into_owned().collect()
    }
}

/// What the fake answers: status, headers, body.
pub type Answer = (StatusCode, Vec<(&'static str, String)>, String);

type Responder = dyn Fn(&Recorded, usize) -> Answer + Send + Sync;

#[derive(Clone)]
struct Shared {
    requests: Arc<Mutex<Vec<Recorded>>>,
    respond: Arc<Responder>,
}

/// A running fake.
pub struct FakeApi {
    pub url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl FakeApi {
    /// Starts a fake answering request number `n` (from 0) with `respond(request, n)`;
    /// it speaks HTTP/1.1 and HTTP/2 with prior knowledge.
    pub async fn start(respond: impl Fn(&Recorded, usize) -> Answer + Send + Sync + 'static) -> Self {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            requests: requests.clone(),
            respond: Arc::new(respond),
        };
        let app = axum::Router::new().fallback(handle).with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, requests }
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

async fn handle(State(shared): State<Shared>, request: Request<Body>) -> Response {
    let (parts, body) = request.into_parts();
    let recorded = Recorded {
        method: parts.method,
        path: parts.uri.path_and_query().map(ToString::to_string).unwrap_or_default(),
        version: parts.version,
        headers: parts.headers,
        body: to_bytes(body, 1 << 20).await.unwrap().to_vec(),
    };
    let index = {
        let mut requests = shared.requests.lock().unwrap();
        requests.push(recorded.clone());
        requests.len() - 1
    };
    let (status, headers, body) = (shared.respond)(&recorded, index);
    let mut response = (status, body).into_response();
    for (name, value) in headers {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}

/// A JSON answer.
pub fn json(status: StatusCode, body: serde_json::Value) -> Answer {
    (
        status,
        vec![("content-type", "application/json".into())],
        body.to_string(),
    )
}

/// A local port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
