//! Blob bytes as a stream, both ways, so no adapter holds a whole blob in memory.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures::stream::{self, BoxStream, Stream, StreamExt, TryStreamExt};

use super::{BlobError, PutOptions};
use crate::BoxError;
use crate::model::FieldError;

/// A blob's bytes as a stream of chunks; what goes into [`super::BlobStore::put`]
/// and comes out of [`super::BlobStore::get`].
///
/// An error item ends the stream: on the way in it aborts the upload (nothing
/// is stored), on the way out the reader lost its backend mid-blob.
pub struct BlobBody(BoxStream<'static, Result<Bytes, BoxError>>);

impl BlobBody {
    /// Wraps any stream of chunks (an HTTP body, a file, a channel).
    pub fn from_stream<S, E>(stream: S) -> Self
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<BoxError> + 'static,
    {
        Self(stream.map_err(Into::into).boxed())
    }

    /// One chunk holding all of `bytes` (small blobs, tests).
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        if bytes.is_empty() {
            Self::empty()
        } else {
            Self(stream::iter([Ok(bytes)]).boxed())
        }
    }

    /// No bytes at all.
    #[must_use]
    pub fn empty() -> Self {
        Self(stream::empty().boxed())
    }

    /// Reads the whole body into memory, refusing more than `max_len` bytes.
    ///
    /// For small blobs only (a template, an avatar); large ones should be
    /// streamed through.
    ///
    /// # Errors
    /// [`BlobError::TooLarge`] past `max_len`; [`BlobError::Body`] when the stream fails.
    pub async fn collect(mut self, max_len: u64) -> Result<Bytes, BlobError> {
        let mut buffer = BytesMut::new();
        while let Some(chunk) = self.0.next().await {
            let chunk = chunk.map_err(BlobError::Body)?;
            if (buffer.len() + chunk.len()) as u64 > max_len {
                return Err(BlobError::TooLarge { limit: max_len });
            }
            buffer.extend_from_slice(&chunk);
        }
        Ok(buffer.freeze())
    }
}

impl Stream for BlobBody {
    type Item = Result<Bytes, BoxError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.as_mut().poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl fmt::Debug for BlobBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlobBody")
    }
}

/// An upload body checked as it streams: the size limit and the declared
/// length of [`PutOptions`] hold, input errors become [`BlobError::Body`].
///
/// Every store reads its input through this, so every store refuses an
/// oversize body at the chunk that crosses the limit, before storing it.
pub struct MeteredBody {
    body: BlobBody,
    received: u64,
    limit: Option<u64>,
    declared: Option<u64>,
    done: bool,
}

impl MeteredBody {
    /// Checks `options` up front (a declared length over the limit fails
    /// before a byte is read) and wraps `body`.
    ///
    /// # Errors
    /// [`BlobError::Invalid`] for a bad content type, [`BlobError::TooLarge`]
    /// when the declared length already exceeds the limit.
    pub fn new(body: BlobBody, options: &PutOptions) -> Result<Self, BlobError> {
        options.validate()?;
        Ok(Self {
            body,
            received: 0,
            limit: options.max_size,
            declared: options.length,
            done: false,
        })
    }

    /// Bytes received so far.
    #[must_use]
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The next chunk, `None` at the end of a body that met every rule.
    ///
    /// # Errors
    /// [`BlobError::Body`] when the input fails, [`BlobError::TooLarge`] as
    /// soon as the limit is crossed, [`BlobError::Invalid`] (field `length`)
    /// when the body is longer or shorter than declared.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>, BlobError> {
        if self.done {
            return Ok(None);
        }
        loop {
            let Some(chunk) = self.body.next().await else {
                self.done = true;
                return match self.declared {
                    Some(declared) if declared != self.received => Err(length_mismatch(declared, self.received)),
                    _ => Ok(None),
                };
            };
            let chunk = chunk.map_err(BlobError::Body)?;
            if chunk.is_empty() {
                continue;
            }
            self.received += chunk.len() as u64;
            if let Some(limit) = self.limit.filter(|limit| self.received > *limit) {
                return Err(BlobError::TooLarge { limit });
            }
            if let Some(declared) = self.declared.filter(|declared| self.received > *declared) {
                return Err(length_mismatch(declared, self.received));
            }
            return Ok(Some(chunk));
        }
    }

    /// Fills a buffer up to `capacity` bytes (less only at the end of the body).
    ///
    /// Chunks are split at `capacity`; the rest starts the next fill, kept in `carry`.
    ///
    /// # Errors
    /// As [`MeteredBody::next_chunk`].
    pub async fn fill(&mut self, carry: &mut Option<Bytes>, capacity: usize) -> Result<BytesMut, BlobError> {
        let mut buffer = BytesMut::with_capacity(capacity.min(1 << 20));
        if capacity == 0 {
            return Ok(buffer);
        }
        loop {
            let chunk = match carry.take() {
                Some(chunk) => chunk,
                None => match self.next_chunk().await? {
                    Some(chunk) => chunk,
                    None => return Ok(buffer),
                },
            };
            let room = capacity - buffer.len();
            if chunk.len() > room {
                buffer.extend_from_slice(&chunk[..room]);
                *carry = Some(chunk.slice(room..));
            } else {
                buffer.extend_from_slice(&chunk);
            }
            if buffer.len() == capacity {
                return Ok(buffer);
            }
        }
    }
}

fn length_mismatch(declared: u64, received: u64) -> BlobError {
    BlobError::Invalid(FieldError::new(
        "length",
        "mismatch",
        format!(
            "the body declared {declared} bytes but carried {}{received}",
            if received > declared { "at least " } else { "" }
        ),
    ))
}

#[cfg(test)]
mod tests;
