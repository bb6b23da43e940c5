//! [`S3BlobStore`]: the blob port on an S3 bucket.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use futures::TryStreamExt as _;
use http::{HeaderMap, HeaderValue, header};
use platform_ports::blob::{
    BlobBody, BlobEntry, BlobError, BlobInfo, BlobKey, BlobObject, BlobPage, BlobStore, ListRequest, MeteredBody,
    PresignedUrl, PutOptions, SignedAccess, presign_ttl_secs,
};
use platform_ports::model::FieldError;
use s3::BucketConfiguration;
use s3::bucket::Bucket;
use s3::serde_types::HeadObjectResult;

use crate::errors::{backend, s3_error, status_of};
use crate::health::S3HealthCheck;
use crate::settings::{S3Settings, S3SetupError};
use crate::upload::{Upload, unquote};

/// A [`BlobStore`] on S3 or any S3-compatible server.
///
/// Content type and size are the object's own `Content-Type` and length;
/// presigned URLs are SigV4 query-signed URLs the server checks itself.
/// Uploads at or above `multipart_threshold` bytes use multipart uploads
/// (aborted when the body fails or the upload is cancelled); a body of
/// declared length streams into its parts, one of unknown length goes
/// through part buffers (see `upload`).
#[derive(Clone)]
pub struct S3BlobStore {
    bucket: Arc<Bucket>,
    settings: Arc<S3Settings>,
}

impl S3BlobStore {
    /// A store for the bucket `settings` name; makes no request.
    ///
    /// # Errors
    /// [`S3SetupError::Invalid`] naming the bad setting, [`S3SetupError::Client`].
    pub fn new(settings: S3Settings) -> Result<Self, S3SetupError> {
        let bucket = settings.bucket()?;
        Ok(Self {
            bucket: Arc::from(bucket),
            settings: Arc::new(settings),
        })
    }

    /// [`S3BlobStore::new`], then makes sure the bucket is there: creates it
    /// when `create_bucket` is set, else fails when it is missing.
    ///
    /// # Errors
    /// As [`S3BlobStore::new`]; [`S3SetupError::BucketMissing`];
    /// [`S3SetupError::Client`] when the server cannot be reached or refuses.
    pub async fn connect(settings: S3Settings) -> Result<Self, S3SetupError> {
        let store = Self::new(settings)?;
        match store.probe().await {
            Ok(()) => {}
            Err(err) if status_of(&err) == Some(404) && store.settings.create_bucket => store.create_bucket().await?,
            Err(err) if status_of(&err) == Some(404) => {
                return Err(S3SetupError::BucketMissing(store.settings.bucket.clone()));
            }
            Err(err) => return Err(S3SetupError::Client(err.into())),
        }
        Ok(store)
    }

    /// A health check: the bucket answers a one-key listing.
    #[must_use]
    pub fn health_checker(&self) -> S3HealthCheck {
        S3HealthCheck::new(self.bucket.clone())
    }

    /// The rust-s3 bucket handle (benchmarks compare against it).
    #[must_use]
    pub fn bucket(&self) -> &Bucket {
        &self.bucket
    }

    /// Deletes the bucket (it must be empty); for tests that create their own.
    ///
    /// # Errors
    /// [`BlobError::Backend`].
    pub async fn delete_bucket(&self) -> Result<(), BlobError> {
        self.bucket.delete().await.map(drop).map_err(backend)
    }

    async fn probe(&self) -> Result<(), s3::error::S3Error> {
        self.bucket
            .list_page(String::new(), None, None, None, Some(1))
            .await
            .map(drop)
    }

    async fn create_bucket(&self) -> Result<(), S3SetupError> {
        let (name, region, credentials) = (
            &self.settings.bucket,
            self.bucket.region(),
            self.settings.credentials()?,
        );
        let config = BucketConfiguration::default();
        let created = if self.settings.path_style {
            Bucket::create_with_path_style(name, region, credentials, config).await
        } else {
            Bucket::create(name, region, credentials, config).await
        };
        match created {
            Ok(_) => {
                tracing::info!(bucket = %name, "created the blob bucket");
                Ok(())
            }
            // Someone else created it meanwhile.
            Err(err) if status_of(&err) == Some(409) => Ok(()),
            Err(err) => Err(S3SetupError::Client(err.into())),
        }
    }

    async fn head_object(&self, key: &BlobKey) -> Result<BlobInfo, BlobError> {
        let (head, _) = self.bucket.head_object(key.as_str()).await.map_err(s3_error)?;
        Ok(info_from_head(key, &head))
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put(&self, key: &BlobKey, body: BlobBody, options: PutOptions) -> Result<BlobInfo, BlobError> {
        let body = MeteredBody::new(body, &options)?;
        let upload = Upload {
            bucket: &self.bucket,
            key,
            content_type: &options.content_type,
            part_size: self.settings.multipart_threshold,
            concurrency: self.settings.multipart_concurrency,
            timeout: self.settings.request_timeout,
        };
        let uploaded = upload.run(body, options.length).await?;
        Ok(BlobInfo {
            key: key.clone(),
            size: uploaded.size,
            content_type: options.content_type,
            etag: uploaded.etag,
            sha256: Some(uploaded.sha256),
            // The server's own time comes with `head`; ours would only be close.
            last_modified: None,
        })
    }

    async fn get(&self, key: &BlobKey) -> Result<BlobObject, BlobError> {
        // HEAD for the metadata, then a GET bound to that version by `If-Match`:
        // if the object is replaced in between, the GET fails (412) and we start over.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let info = self.head_object(key).await?;
            let mut reader = self.bucket.as_ref().clone();
            // Downloads stream as long as the caller reads; no overall deadline.
            reader.set_request_timeout(None);
            if let Some(etag) = &info.etag {
                let mut headers = HeaderMap::new();
                let value = HeaderValue::from_str(&format!("\"{etag}\"")).map_err(backend)?;
                headers.insert(header::IF_MATCH, value);
                reader = reader.with_extra_headers(headers).map_err(backend)?;
            }
            match reader.get_object_stream(key.as_str()).await {
                Ok(response) => {
                    let body = BlobBody::from_stream(response.bytes.map_err(platform_ports::BoxError::from));
                    return Ok(BlobObject { info, body });
                }
                Err(err) if status_of(&err) == Some(412) && attempts < 3 => {}
                Err(err) => return Err(s3_error(err)),
            }
        }
    }

    async fn head(&self, key: &BlobKey) -> Result<BlobInfo, BlobError> {
        self.head_object(key).await
    }

    async fn exists(&self, key: &BlobKey) -> Result<bool, BlobError> {
        match self.head_object(key).await {
            Ok(_) => Ok(true),
            Err(BlobError::NotFound) => Ok(false),
            Err(err) => Err(err),
        }
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError> {
        match self.bucket.delete_object(key.as_str()).await {
            Ok(_) => Ok(()),
            Err(err) if status_of(&err) == Some(404) => Ok(()),
            Err(err) => Err(backend(err)),
        }
    }

    async fn list(&self, request: &ListRequest) -> Result<BlobPage, BlobError> {
        let limit = request.effective_limit() as usize;
        let listed = self
            .bucket
            .list_page(
                request.prefix.as_str().to_owned(),
                None,
                request.cursor.clone(),
                None,
                Some(limit),
            )
            .await;
        let (page, _) = match listed {
            Ok(page) => page,
            Err(err) if request.cursor.is_some() && status_of(&err) == Some(400) => {
                return Err(BlobError::Invalid(FieldError::new(
                    "cursor",
                    "invalid",
                    "not a cursor this store issued",
                )));
            }
            Err(err) => return Err(backend(err)),
        };
        let entries = page
            .contents
            .into_iter()
            .filter_map(|object| {
                // Objects written by other tools may have keys the port refuses; they are not ours.
                let key = BlobKey::parse(&object.key).ok()?;
                Some(BlobEntry {
                    key,
                    size: object.size,
                    etag: object.e_tag.as_deref().map(unquote),
                    last_modified: DateTime::parse_from_rfc3339(&object.last_modified)
                        .ok()
                        .map(|t| t.with_timezone(&Utc)),
                })
            })
            .collect();
        Ok(BlobPage {
            entries,
            next_cursor: page.next_continuation_token.filter(|_| page.is_truncated),
        })
    }

    async fn presign(&self, key: &BlobKey, access: SignedAccess, ttl: Duration) -> Result<PresignedUrl, BlobError> {
        let secs = presign_ttl_secs(ttl)?;
        let now = Utc::now();
        let url = match access {
            SignedAccess::Get => self.bucket.presign_get(key.as_str(), secs, None).await,
            SignedAccess::Put => self.bucket.presign_put(key.as_str(), secs, None, None).await,
        }
        .map_err(backend)?;
        Ok(PresignedUrl {
            url,
            access,
            expires_at: now + TimeDelta::seconds(i64::from(secs)),
        })
    }
}

fn info_from_head(key: &BlobKey, head: &HeadObjectResult) -> BlobInfo {
    BlobInfo {
        key: key.clone(),
        size: head.content_length.and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
        content_type: head
            .content_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".to_owned()),
        etag: head.e_tag.as_deref().map(unquote),
        sha256: None,
        last_modified: head
            .last_modified
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc2822(t).ok())
            .map(|t| t.with_timezone(&Utc)),
    }
}
