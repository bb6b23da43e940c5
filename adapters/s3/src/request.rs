//! The requests that carry an upload's bytes: a `PUT` of an object or of one
//! part, on a presigned URL, sent with rust-s3's own HTTP client.
//!
//! Not rust-s3's `put_object` / `put_multipart_chunk`: those take the bytes
//! as a slice, copy them into the request, and hash them twice more on the
//! request's task (SHA-256 for the header signature, MD5 for `Content-MD5`).
//! A presigned URL signs `UNSIGNED-PAYLOAD`, so the body can be a stream or
//! a shared [`Bytes`] and is sent as it is; the adapter's own SHA-256 of the
//! upload still covers every byte.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, ETAG};
use s3::bucket::Bucket;
use s3::error::S3Error;

/// How long a part's URL stays valid: it only has to outlive the moment the
/// request starts (the server checks it then), with room for clock skew.
const URL_TTL_SECS: u32 = 3600;

/// What goes up: one object, or part `number` of the multipart upload `upload_id`.
pub(crate) enum Target<'a> {
    Object { content_type: &'a str },
    Part { number: u32, upload_id: &'a str },
}

/// A request body: bytes already in memory, or a stream fed as the upload arrives.
pub(crate) enum Payload {
    Buffered(Bytes),
    Streamed(reqwest::Body),
}

impl Payload {
    /// A streamed body that yields what `chunks` yields, then ends.
    pub(crate) fn stream<S>(chunks: S) -> Self
    where
        S: Stream<Item = Bytes> + Send + 'static,
    {
        use futures::StreamExt as _;
        Self::Streamed(reqwest::Body::wrap_stream(
            chunks.map(Ok::<Bytes, std::convert::Infallible>),
        ))
    }
}

/// `PUT`s `length` bytes of `payload` at `target` of `key`; answers the entity
/// tag as the server sent it (quoted).
///
/// `timeout` bounds the whole request; streamed parts pass `None` since their
/// duration is the client's, and bound the wait for the answer themselves.
///
/// # Errors
/// As rust-s3's own requests: [`S3Error::HttpFailWithBody`] for an answer
/// other than 2xx, [`S3Error::Reqwest`] when the request fails.
pub(crate) async fn put(
    bucket: &Bucket,
    key: &str,
    target: Target<'_>,
    payload: Payload,
    length: u64,
    timeout: Option<Duration>,
) -> Result<Option<String>, S3Error> {
    let queries = match target {
        Target::Object { .. } => None,
        Target::Part { number, upload_id } => Some(HashMap::from([
            ("partNumber".to_owned(), number.to_string()),
            ("uploadId".to_owned(), upload_id.to_owned()),
        ])),
    };
    let url = bucket.presign_put(key, URL_TTL_SECS, None, queries).await?;
    let body = match payload {
        Payload::Buffered(bytes) => reqwest::Body::from(bytes),
        Payload::Streamed(body) => body,
    };
    let mut request = bucket.http_client().put(url).header(CONTENT_LENGTH, length).body(body);
    if let Target::Object { content_type } = target {
        request = request.header(CONTENT_TYPE, content_type);
    }
    if let Some(timeout) = timeout {
        request = request.timeout(timeout);
    }
    let response = request.send().await?;
    let status = response.status();
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        return Err(S3Error::HttpFailWithBody(status.as_u16(), text));
    }
    Ok(response
        .headers()
        .get(ETAG)
        .and_then(|etag| etag.to_str().ok())
        .map(str::to_owned))
}
