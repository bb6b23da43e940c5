//! Uploads that never hold a whole body, and at most a few parts of one.
//!
//! - A declared length below the part size: one `PUT` of a buffer of exactly
//!   that length.
//! - A declared length at or above it: a multipart upload whose parts stream
//!   from the body straight into their requests. S3 needs each part's length
//!   before its bytes, and the declared length gives every one, so nothing
//!   is buffered.
//! - No declared length (a `multipart/form-data` file): the body is read into
//!   part buffers, each allocated once at exactly the part size and reused;
//!   a body that ends inside the first goes up in one `PUT`.
//!
//! Up to `concurrency` part requests are open at once: while one waits for
//! its answer, the next is already being fed (streamed) or sent (buffered).
//! The body is hashed once, as it passes; the requests themselves sign
//! `UNSIGNED-PAYLOAD` (see [`crate::request`]).

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use platform_ports::blob::{BlobError, BlobKey, MeteredBody};
use s3::bucket::Bucket;
use s3::serde_types::Part;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::errors::{backend, s3_error};
use crate::request::{self, Payload, Target};

/// S3's largest number of parts in one upload.
const MAX_PARTS: u64 = 10_000;
/// Chunks queued between the body and a streamed part's request: enough that
/// the request never waits on the reader, few enough to hold almost nothing.
const QUEUED_CHUNKS: usize = 4;

/// What an upload produced.
pub(crate) struct Uploaded {
    /// Bytes stored.
    pub(crate) size: u64,
    /// Hex SHA-256 of them.
    pub(crate) sha256: String,
    /// The object's entity tag, when the server sent one.
    pub(crate) etag: Option<String>,
}

/// One upload of `key` from a body.
pub(crate) struct Upload<'a> {
    pub(crate) bucket: &'a Arc<Bucket>,
    pub(crate) key: &'a BlobKey,
    pub(crate) content_type: &'a str,
    /// Bodies of at least this many bytes go up in parts of this size.
    pub(crate) part_size: u64,
    /// Part requests open at once.
    pub(crate) concurrency: usize,
    /// Limit for a request whose bytes are all at hand, and for the wait for
    /// a streamed part's answer once its bytes are sent.
    pub(crate) timeout: Duration,
}

impl Upload<'_> {
    /// Reads `body` (of the declared `length`, when known) to its end and stores it.
    pub(crate) async fn run(self, body: MeteredBody, length: Option<u64>) -> Result<Uploaded, BlobError> {
        let mut source = Source::new(body);
        match length {
            Some(length) if length >= self.part_size => self.streamed(source, length).await,
            Some(length) => {
                let length = to_usize(length)?;
                let mut buffer = BytesMut::with_capacity(length);
                source.fill(&mut buffer, length).await?;
                source.end().await?;
                self.single(source, buffer.freeze()).await
            }
            None => {
                let part_size = to_usize(self.part_size)?;
                let mut first = BytesMut::with_capacity(part_size);
                source.fill(&mut first, part_size).await?;
                if first.len() < part_size {
                    return self.single(source, first.freeze()).await;
                }
                self.buffered(source, first).await
            }
        }
    }

    /// One `PUT` of the whole (short) body.
    async fn single(&self, source: Source, data: Bytes) -> Result<Uploaded, BlobError> {
        let size = data.len() as u64;
        let target = Target::Object {
            content_type: self.content_type,
        };
        let etag = request::put(
            self.bucket,
            self.key.as_str(),
            target,
            Payload::Buffered(data),
            size,
            Some(self.timeout),
        )
        .await
        .map_err(s3_error)?;
        Ok(Uploaded {
            size,
            sha256: source.digest(),
            etag: etag.as_deref().map(unquote),
        })
    }

    /// A multipart upload of a body of known `length`, each part streamed.
    async fn streamed(self, mut source: Source, length: u64) -> Result<Uploaded, BlobError> {
        // Past S3's part count the parts grow; they are never held, so that costs nothing.
        let part_size = self.part_size.max(length.div_ceil(MAX_PARTS));
        let mut parts = Parts::start(&self).await?;
        let mut remaining = length;
        while remaining > 0 {
            let part_length = part_size.min(remaining);
            remaining -= part_length;
            parts.make_room().await?;
            let (sender, receiver) = mpsc::channel::<Bytes>(QUEUED_CHUNKS);
            let chunks = futures::stream::unfold(receiver, |mut receiver| async move {
                receiver.recv().await.map(|chunk| (chunk, receiver))
            });
            parts.send(Payload::stream(chunks), part_length, None);
            let mut left = part_length;
            while left > 0 {
                // A body shorter than declared fails in `next` (the metered body checks it).
                let chunk = source
                    .next(to_usize(left)?)
                    .await?
                    .ok_or_else(|| backend("the body ended before its declared length"))?;
                left -= chunk.len() as u64;
                if sender.send(chunk).await.is_err() {
                    // The part's request ended before its bytes did: its error is the upload's.
                    return Err(parts.failure().await);
                }
            }
        }
        source.end().await?;
        parts.complete(source).await
    }

    /// A multipart upload of a body of unknown length, through part buffers.
    async fn buffered(self, mut source: Source, first: BytesMut) -> Result<Uploaded, BlobError> {
        let part_size = first.len();
        let mut parts = Parts::start(&self).await?;
        let mut next = Some(first);
        while let Some(full) = next.take() {
            parts.make_room().await?;
            if u64::from(parts.sent) == MAX_PARTS {
                return Err(BlobError::TooLarge {
                    limit: MAX_PARTS * part_size as u64,
                });
            }
            let data = full.freeze();
            let length = data.len() as u64;
            // A second handle to the bytes, to take the buffer back once the request is done.
            parts.send(Payload::Buffered(data.clone()), length, Some(data));
            let mut buffer = parts.spare.pop().unwrap_or_else(|| BytesMut::with_capacity(part_size));
            source.fill(&mut buffer, part_size).await?;
            next = Some(buffer).filter(|buffer| !buffer.is_empty());
        }
        parts.complete(source).await
    }
}

/// The body as an upload reads it: split where a part ends, hashed once as it passes.
struct Source {
    body: MeteredBody,
    /// What the last chunk had past the end of the part it went to.
    carry: Option<Bytes>,
    hasher: Sha256,
}

impl Source {
    fn new(body: MeteredBody) -> Self {
        Self {
            body,
            carry: None,
            hasher: Sha256::new(),
        }
    }

    /// The next bytes, at most `max` (> 0) of them; `None` at the end of the body.
    async fn next(&mut self, max: usize) -> Result<Option<Bytes>, BlobError> {
        let mut chunk = match self.carry.take() {
            Some(chunk) => chunk,
            None => match self.body.next_chunk().await? {
                Some(chunk) => chunk,
                None => return Ok(None),
            },
        };
        if chunk.len() > max {
            self.carry = Some(chunk.split_off(max));
        }
        self.hasher.update(&chunk);
        Ok(Some(chunk))
    }

    /// Appends to `buffer` until it holds `capacity` bytes or the body ends.
    async fn fill(&mut self, buffer: &mut BytesMut, capacity: usize) -> Result<(), BlobError> {
        while buffer.len() < capacity {
            match self.next(capacity - buffer.len()).await? {
                Some(chunk) => buffer.extend_from_slice(&chunk),
                None => break,
            }
        }
        Ok(())
    }

    /// Checks that the body has nothing left: a declared length holds only
    /// once the body has ended, and only then may its last bytes be stored.
    async fn end(&mut self) -> Result<(), BlobError> {
        if self.carry.is_some() || self.body.next_chunk().await?.is_some() {
            return Err(backend("the body went on past the length it was read for"));
        }
        Ok(())
    }

    fn digest(self) -> String {
        hex::encode(self.hasher.finalize())
    }
}

/// What a part's request gives back: the part, and its buffer to reuse.
type PartDone = Result<(Part, Option<Bytes>), BlobError>;

/// A multipart upload in progress: its open part requests, the parts done,
/// and the buffers their requests gave back.
struct Parts {
    bucket: Arc<Bucket>,
    key: Arc<str>,
    upload_id: Arc<str>,
    concurrency: usize,
    timeout: Duration,
    guard: AbortGuard,
    in_flight: JoinSet<PartDone>,
    done: Vec<Part>,
    spare: Vec<BytesMut>,
    sent: u32,
    size: u64,
}

impl Parts {
    async fn start(upload: &Upload<'_>) -> Result<Self, BlobError> {
        let key = upload.key.as_str();
        let started = upload
            .bucket
            .initiate_multipart_upload(key, upload.content_type)
            .await
            .map_err(s3_error)?;
        Ok(Self {
            bucket: upload.bucket.clone(),
            key: Arc::from(key),
            upload_id: Arc::from(started.upload_id.as_str()),
            concurrency: upload.concurrency.max(1),
            timeout: upload.timeout,
            guard: AbortGuard {
                bucket: upload.bucket.clone(),
                key: key.to_owned(),
                upload_id: Some(started.upload_id),
            },
            in_flight: JoinSet::new(),
            done: Vec::new(),
            spare: Vec::new(),
            sent: 0,
            size: 0,
        })
    }

    /// Starts the next part's request; `reclaim` is a handle on a buffered
    /// part's bytes, handed back when the request is done.
    fn send(&mut self, payload: Payload, length: u64, reclaim: Option<Bytes>) {
        self.sent += 1;
        self.size += length;
        let number = self.sent;
        let (bucket, key, upload_id) = (self.bucket.clone(), self.key.clone(), self.upload_id.clone());
        // A streamed part lasts as long as the client takes to send it; `join_one` bounds its answer.
        let timeout = reclaim.is_some().then_some(self.timeout);
        self.in_flight.spawn(async move {
            let target = Target::Part {
                number,
                upload_id: &upload_id,
            };
            let etag = request::put(&bucket, &key, target, payload, length, timeout)
                .await
                .map_err(s3_error)?
                .ok_or_else(|| backend(format!("the server answered part {number} without an entity tag")))?;
            Ok((
                Part {
                    etag,
                    part_number: number,
                },
                reclaim,
            ))
        });
    }

    /// Waits until fewer than `concurrency` part requests are open.
    async fn make_room(&mut self) -> Result<(), BlobError> {
        while self.in_flight.len() >= self.concurrency {
            self.join_one().await?;
        }
        Ok(())
    }

    /// Waits for one open part request (all of whose bytes are sent or queued).
    async fn join_one(&mut self) -> Result<(), BlobError> {
        let joined = tokio::time::timeout(self.timeout, self.in_flight.join_next())
            .await
            .map_err(|_| backend(format!("a part's request went unanswered for {:?}", self.timeout)))?;
        let Some(joined) = joined else { return Ok(()) };
        let (part, bytes) = joined.map_err(backend)??;
        self.done.push(part);
        // The request dropped its handle on the bytes: the buffer is ours again, unless
        // the client still holds it (then it is freed, and a new one allocated).
        if let Some(mut buffer) = bytes.and_then(|bytes| bytes.try_into_mut().ok()) {
            buffer.clear();
            self.spare.push(buffer);
        }
        Ok(())
    }

    /// The error of the part request that ended early.
    async fn failure(mut self) -> BlobError {
        while !self.in_flight.is_empty() {
            if let Err(err) = self.join_one().await {
                return err;
            }
        }
        backend("a part's request ended before its bytes were sent")
    }

    /// Waits for every part, then completes the upload.
    async fn complete(mut self, source: Source) -> Result<Uploaded, BlobError> {
        while !self.in_flight.is_empty() {
            self.join_one().await?;
        }
        let mut parts = std::mem::take(&mut self.done);
        parts.sort_by_key(|part| part.part_number);
        let response = self
            .bucket
            .complete_multipart_upload(&self.key, &self.upload_id, parts)
            .await
            .map_err(s3_error)?;
        self.guard.upload_id = None;
        Ok(Uploaded {
            size: self.size,
            sha256: source.digest(),
            etag: xml_etag(response.as_slice()),
        })
    }
}

fn to_usize(n: u64) -> Result<usize, BlobError> {
    usize::try_from(n).map_err(backend)
}

/// Aborts the multipart upload unless it completed: on an error, and when
/// the upload is cancelled (its future dropped), so no parts linger in the bucket.
struct AbortGuard {
    bucket: Arc<Bucket>,
    key: String,
    upload_id: Option<String>,
}

impl Drop for AbortGuard {
    fn drop(&mut self) {
        let Some(upload_id) = self.upload_id.take() else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(key = %self.key, "no runtime to abort an unfinished multipart upload");
            return;
        };
        let (bucket, key) = (self.bucket.clone(), std::mem::take(&mut self.key));
        runtime.spawn(async move {
            if let Err(err) = bucket.abort_upload(&key, &upload_id).await {
                tracing::warn!(%key, error = %err, "could not abort an unfinished multipart upload");
            }
        });
    }
}

/// An entity tag without its quotes.
pub(crate) fn unquote(etag: &str) -> String {
    etag.trim_matches('"').to_owned()
}

/// The `<ETag>` of a `CompleteMultipartUploadResult`.
fn xml_etag(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("<ETag>")? + "<ETag>".len();
    let end = start + text[start..].find("</ETag>")?;
    Some(unquote(
        &text[start..end].replace("&quot;", "\"").replace("&#34;", "\""),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_etag_of_a_completed_upload() {
        let body = br#"<?xml version="1.0"?><CompleteMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><ETag>&quot;3858f62230ac3c915f300c664312c11f-9&quot;</ETag></CompleteMultipartUploadResult>"#;
        assert_eq!(xml_etag(body).as_deref(), Some("3858f62230ac3c915f300c664312c11f-9"));
        assert_eq!(xml_etag(b"<x/>"), None);
        assert_eq!(unquote("\"abc\""), "abc");
    }
}
