//! Uploads: one `PUT` below the multipart threshold, else a multipart upload
//! whose parts are sent while the next one is read from the body.

use std::sync::Arc;

use bytes::BytesMut;
use platform_ports::blob::{BlobError, BlobKey, MeteredBody};
use s3::bucket::Bucket;
use s3::serde_types::Part;
use sha2::{Digest, Sha256};
use tokio::task::JoinSet;

use crate::errors::{backend, s3_error};

/// What an upload produced.
pub(crate) struct Uploaded {
    /// Bytes stored.
    pub(crate) size: u64,
    /// Hex SHA-256 of them.
    pub(crate) sha256: String,
    /// The object's entity tag, when the server sent one.
    pub(crate) etag: Option<String>,
}

/// One upload of `key` from `body`.
pub(crate) struct Upload<'a> {
    pub(crate) bucket: &'a Arc<Bucket>,
    pub(crate) key: &'a BlobKey,
    pub(crate) content_type: &'a str,
    pub(crate) part_size: usize,
    pub(crate) concurrency: usize,
}

impl Upload<'_> {
    /// Reads `body` to its end and stores it.
    pub(crate) async fn run(self, mut body: MeteredBody) -> Result<Uploaded, BlobError> {
        let mut hasher = Sha256::new();
        let mut carry = None;
        let first = body.fill(&mut carry, self.part_size).await?;
        hasher.update(&first);
        // A body shorter than one part (or exactly one) goes up in a single PUT.
        let second = if first.len() < self.part_size {
            BytesMut::new()
        } else {
            body.fill(&mut carry, self.part_size).await?
        };
        if second.is_empty() {
            let response = self
                .bucket
                .put_object_with_content_type(self.key.as_str(), &first, self.content_type)
                .await
                .map_err(s3_error)?;
            return Ok(Uploaded {
                size: first.len() as u64,
                sha256: hex::encode(hasher.finalize()),
                etag: response.headers().get("etag").map(|e| unquote(e)),
            });
        }
        hasher.update(&second);
        self.multipart(body, carry, hasher, [first, second]).await
    }

    async fn multipart(
        self,
        mut body: MeteredBody,
        mut carry: Option<bytes::Bytes>,
        mut hasher: Sha256,
        first_parts: [BytesMut; 2],
    ) -> Result<Uploaded, BlobError> {
        let started = self
            .bucket
            .initiate_multipart_upload(self.key.as_str(), self.content_type)
            .await
            .map_err(s3_error)?;
        let mut guard = AbortGuard {
            bucket: self.bucket.clone(),
            key: self.key.as_str().to_owned(),
            upload_id: Some(started.upload_id.clone()),
        };
        let upload_id = started.upload_id.as_str();
        let mut in_flight = JoinSet::new();
        let mut parts = Vec::new();
        let mut queued = first_parts.into_iter();
        let mut part_number = 0u32;
        let mut reading = true;
        let mut size = 0u64;
        while reading || !in_flight.is_empty() {
            while reading && in_flight.len() < self.concurrency {
                let part = match queued.next() {
                    Some(part) => part,
                    None => {
                        let part = body.fill(&mut carry, self.part_size).await?;
                        hasher.update(&part);
                        part
                    }
                };
                if part.is_empty() {
                    reading = false;
                    break;
                }
                size += part.len() as u64;
                part_number += 1;
                let (bucket, key, content_type, id) = (
                    self.bucket.clone(),
                    self.key.as_str().to_owned(),
                    self.content_type.to_owned(),
                    upload_id.to_owned(),
                );
                let number = part_number;
                in_flight.spawn(async move {
                    bucket
                        .put_multipart_chunk(Vec::from(part), &key, number, &id, &content_type)
                        .await
                });
            }
            if let Some(done) = in_flight.join_next().await {
                parts.push(done.map_err(backend)?.map_err(s3_error)?);
            }
        }
        parts.sort_by_key(|part: &Part| part.part_number);
        let response = self
            .bucket
            .complete_multipart_upload(self.key.as_str(), upload_id, parts)
            .await
            .map_err(s3_error)?;
        guard.upload_id = None;
        Ok(Uploaded {
            size,
            sha256: hex::encode(hasher.finalize()),
            etag: xml_etag(response.as_slice()),
        })
    }
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
