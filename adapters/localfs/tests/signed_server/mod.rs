//! A minimal HTTP server for the local store's signed URLs: what the HTTP
//! adapter's `GET|PUT {SIGNED_URL_PATH}/{*key}` route is to do, so the
//! contract's presigned-URL checks can fetch them. Verification comes first
//! (any failure is 403); bodies stream both ways.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use platform_adapter_localfs::{LocalBlobStore, LocalSignedUrlVerifier};
use platform_ports::blob::{
    BlobBody, BlobError, BlobKey, BlobStore, PutOptions, SIGNED_URL_PATH, SignedAccess, SignedUrlVerifier,
};
use serde::Deserialize;

/// The signed query parameters (absent ones are refused).
#[derive(Deserialize)]
struct Signed {
    expires: Option<String>,
    signature: Option<String>,
}

/// The store and the verifier of its URLs.
#[derive(Clone)]
struct Shared {
    store: Arc<LocalBlobStore>,
    verifier: Arc<LocalSignedUrlVerifier>,
}

/// Binds a loopback port and serves the store `make` builds for the server's origin.
pub async fn start(make: impl FnOnce(String) -> LocalBlobStore) -> Arc<LocalBlobStore> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let store = Arc::new(make(origin));
    let shared = Shared {
        verifier: Arc::new(store.url_verifier()),
        store: store.clone(),
    };
    let app = Router::new()
        .route(&format!("{SIGNED_URL_PATH}/{{*key}}"), get(download).put(upload))
        .with_state(shared);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    store
}

/// The verified key, or why it is refused (always 403).
fn verify(
    verifier: &LocalSignedUrlVerifier,
    key: &str,
    access: SignedAccess,
    query: &Signed,
) -> Result<BlobKey, String> {
    let (Some(expires), Some(signature)) = (&query.expires, &query.signature) else {
        return Err("missing expires or signature".to_owned());
    };
    verifier
        .verify(key, access, expires, signature, Utc::now())
        .map_err(|err| err.to_string())
}

async fn download(
    State(Shared { store, verifier }): State<Shared>,
    Path(key): Path<String>,
    Query(query): Query<Signed>,
) -> Response {
    let key = match verify(&verifier, &key, SignedAccess::Get, &query) {
        Ok(key) => key,
        Err(why) => return (StatusCode::FORBIDDEN, why).into_response(),
    };
    match store.get(&key).await {
        Ok(object) => (
            [
                (header::CONTENT_TYPE, object.info.content_type.clone()),
                (header::CONTENT_LENGTH, object.info.size.to_string()),
            ],
            Body::from_stream(object.body),
        )
            .into_response(),
        Err(BlobError::NotFound) => StatusCode::NOT_FOUND.into_response(),
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response(),
    }
}

async fn upload(
    State(Shared { store, verifier }): State<Shared>,
    Path(key): Path<String>,
    Query(query): Query<Signed>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let key = match verify(&verifier, &key, SignedAccess::Put, &query) {
        Ok(key) => key,
        Err(why) => return (StatusCode::FORBIDDEN, why).into_response(),
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream");
    let body = BlobBody::from_stream(body.into_data_stream());
    match store.put(&key, body, PutOptions::new(content_type)).await {
        Ok(_) => StatusCode::OK.into_response(),
        Err(err @ BlobError::Invalid(_)) => (StatusCode::BAD_REQUEST, err.to_string()).into_response(),
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response(),
    }
}
