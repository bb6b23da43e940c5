//! `blob.s3.*`: where the bucket is and how to talk to it.

use std::time::Duration;

use platform_ports::model::SecretString;
use s3::Region;
use s3::bucket::Bucket;
use s3::creds::Credentials;

/// S3's smallest part (every part of a multipart upload but the last).
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// S3's largest part.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;

/// How [`crate::S3BlobStore`] reaches its bucket.
#[derive(Clone, Debug)]
pub struct S3Settings {
    /// Origin of an S3-compatible server (`http://127.0.0.1:18333`); `None` is AWS for [`S3Settings::region`].
    pub endpoint: Option<String>,
    /// Region name (`us-east-1`; any name the server accepts when `endpoint` is set).
    pub region: String,
    /// The bucket.
    pub bucket: String,
    /// Access key id.
    pub access_key: String,
    /// Secret access key.
    pub secret_key: SecretString,
    /// `http://host/bucket/key` instead of `http://bucket.host/key` (most self-hosted servers need it).
    pub path_style: bool,
    /// Bodies of at least this many bytes go up in multipart uploads, in parts of
    /// this size; smaller ones in one `PUT`. 5 MiB ..= 5 GiB.
    pub multipart_threshold: u64,
    /// Part requests open at once. A body of declared length streams into its
    /// parts and holds none; one of unknown length holds up to
    /// `multipart_concurrency + 1` part buffers.
    pub multipart_concurrency: usize,
    /// Create the bucket at start-up when it is missing.
    pub create_bucket: bool,
    /// Limit for each request but downloads (which stream as long as the reader reads).
    pub request_timeout: Duration,
}

impl S3Settings {
    /// Default [`S3Settings::multipart_threshold`]: S3's smallest part, 5 MiB
    /// (the most a part buffer of an upload of unknown length then holds).
    pub const DEFAULT_MULTIPART_THRESHOLD: u64 = MIN_PART_SIZE;
    /// Default [`S3Settings::multipart_concurrency`].
    pub const DEFAULT_MULTIPART_CONCURRENCY: usize = 2;
    /// Default [`S3Settings::request_timeout`].
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

    /// Settings for `bucket` in `region` with every other value at its default.
    pub fn new(bucket: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            endpoint: None,
            region: region.into(),
            bucket: bucket.into(),
            access_key: String::new(),
            secret_key: SecretString::default(),
            path_style: false,
            multipart_threshold: Self::DEFAULT_MULTIPART_THRESHOLD,
            multipart_concurrency: Self::DEFAULT_MULTIPART_CONCURRENCY,
            create_bucket: false,
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
        }
    }

    /// Checks every value, naming the first bad one.
    ///
    /// # Errors
    /// [`S3SetupError::Invalid`] with the key under `blob.s3`.
    pub fn validate(&self) -> Result<(), S3SetupError> {
        let invalid = |field: &'static str, reason: &str| {
            Err(S3SetupError::Invalid {
                field,
                reason: reason.to_owned(),
            })
        };
        if !is_bucket_name(&self.bucket) {
            return invalid(
                "bucket",
                "must be 3 to 63 lowercase letters, digits, `.` or `-`, starting and ending with a letter or digit",
            );
        }
        if self.region.trim().is_empty() {
            return invalid("region", "must not be empty");
        }
        if let Some(endpoint) = &self.endpoint {
            let rest = endpoint
                .strip_prefix("http://")
                .or_else(|| endpoint.strip_prefix("https://"));
            if rest.is_none_or(|host| host.is_empty() || host.contains(['/', '?', '#', ' '])) {
                return invalid(
                    "endpoint",
                    "must be an origin such as `https://s3.example.com:9000` (no path)",
                );
            }
        }
        if self.access_key.is_empty() || self.secret_key.is_empty() {
            return invalid("access_key", "access_key and secret_key must both be set");
        }
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&self.multipart_threshold) {
            return invalid(
                "multipart_threshold",
                "must be between 5 MiB and 5 GiB (S3's part sizes)",
            );
        }
        if !(1..=16).contains(&self.multipart_concurrency) {
            return invalid("multipart_concurrency", "must be between 1 and 16");
        }
        if self.request_timeout.is_zero() {
            return invalid("request_timeout", "must be positive");
        }
        Ok(())
    }

    /// The bucket handle these settings describe (no request is made).
    pub(crate) fn bucket(&self) -> Result<Box<Bucket>, S3SetupError> {
        self.validate()?;
        let region = match &self.endpoint {
            Some(endpoint) => Region::Custom {
                region: self.region.clone(),
                endpoint: endpoint.trim_end_matches('/').to_owned(),
            },
            // rust-s3 reads an unknown name as a custom region whose endpoint is that name.
            None => match self.region.parse::<Region>() {
                Ok(Region::Custom { .. }) | Err(_) => {
                    return Err(S3SetupError::Invalid {
                        field: "region",
                        reason: format!(
                            "`{}` is not an AWS region; set `endpoint` for other servers",
                            self.region
                        ),
                    });
                }
                Ok(region) => region,
            },
        };
        let mut bucket = Bucket::new(&self.bucket, region, self.credentials()?).map_err(S3SetupError::client)?;
        if self.path_style {
            bucket.set_path_style();
        }
        bucket.set_request_timeout(Some(self.request_timeout));
        Ok(bucket)
    }

    pub(crate) fn credentials(&self) -> Result<Credentials, S3SetupError> {
        Credentials::new(Some(&self.access_key), Some(self.secret_key.expose()), None, None, None)
            .map_err(S3SetupError::client)
    }
}

/// Why the S3 store could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum S3SetupError {
    /// A setting is invalid; `field` is its key under `blob.s3`.
    #[error("blob.s3.{field}: {reason}")]
    Invalid {
        /// The key under `blob.s3`.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The bucket is missing and `create_bucket` is off.
    #[error("bucket `{0}` does not exist (set blob.s3.create_bucket to create it)")]
    BucketMissing(String),
    /// The client could not be built, or the server refused or failed.
    #[error("S3 setup failed")]
    Client(#[source] platform_ports::BoxError),
}

impl S3SetupError {
    fn client(err: impl Into<platform_ports::BoxError>) -> Self {
        Self::Client(err.into())
    }
}

/// S3's bucket naming rules (the subset every provider accepts).
fn is_bucket_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (3..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && !name.contains("..")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> S3Settings {
        S3Settings {
            endpoint: Some("http://127.0.0.1:18333".into()),
            access_key: "ak".into(),
            secret_key: SecretString::new("sk"),
            path_style: true,
            ..S3Settings::new("platform-blobs", "us-east-1")
        }
    }

    fn field_of(settings: &S3Settings) -> &'static str {
        match settings.validate() {
            Err(S3SetupError::Invalid { field, .. }) => field,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn accepts_sane_settings_and_builds_a_path_style_bucket() {
        assert!(valid().validate().is_ok());
        let bucket = valid().bucket().unwrap();
        assert!(bucket.is_path_style());
        assert_eq!(bucket.url(), "http://127.0.0.1:18333/platform-blobs");
        let aws = S3Settings {
            endpoint: None,
            path_style: false,
            region: "eu-west-1".into(),
            ..valid()
        };
        assert_eq!(
            aws.bucket().unwrap().url(),
            "https://platform-blobs.s3-eu-west-1.amazonaws.com"
        );
    }

    #[test]
    fn names_the_bad_setting() {
        assert_eq!(
            field_of(&S3Settings {
                bucket: "Bad_Name".into(),
                ..valid()
            }),
            "bucket"
        );
        assert_eq!(
            field_of(&S3Settings {
                bucket: "ab".into(),
                ..valid()
            }),
            "bucket"
        );
        assert_eq!(
            field_of(&S3Settings {
                region: " ".into(),
                ..valid()
            }),
            "region"
        );
        for endpoint in ["127.0.0.1:18333", "http://", "http://host/path", "ftp://host"] {
            assert_eq!(
                field_of(&S3Settings {
                    endpoint: Some(endpoint.into()),
                    ..valid()
                }),
                "endpoint",
                "{endpoint}"
            );
        }
        assert_eq!(
            field_of(&S3Settings {
                secret_key: SecretString::default(),
                ..valid()
            }),
            "access_key"
        );
        assert_eq!(
            field_of(&S3Settings {
                multipart_threshold: MIN_PART_SIZE - 1,
                ..valid()
            }),
            "multipart_threshold"
        );
        assert_eq!(
            field_of(&S3Settings {
                multipart_concurrency: 0,
                ..valid()
            }),
            "multipart_concurrency"
        );
        assert_eq!(
            field_of(&S3Settings {
                request_timeout: Duration::ZERO,
                ..valid()
            }),
            "request_timeout"
        );
        let unknown = S3Settings {
            endpoint: None,
            region: "mars-1".into(),
            ..valid()
        };
        assert!(matches!(
            unknown.bucket(),
            Err(S3SetupError::Invalid { field: "region", .. })
        ));
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let settings = S3Settings {
            secret_key: SecretString::new("very-secret"),
            ..valid()
        };
        assert!(!format!("{settings:?}").contains("very-secret"));
    }
}
