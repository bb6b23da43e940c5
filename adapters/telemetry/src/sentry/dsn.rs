//! A Sentry DSN (`https://PUBLIC_KEY@HOST[:PORT][/PREFIX]/PROJECT_ID`) and
//! what it gives: the envelope endpoint and the auth header.

use http::Uri;

/// Where and as whom to send envelopes.
#[derive(Clone)]
pub(crate) struct Dsn {
    /// `https://host/prefix/api/PROJECT/envelope/`.
    pub(crate) envelope_url: String,
    pub(crate) public_key: String,
}

impl Dsn {
    /// Parses a DSN; the error never repeats the DSN (it holds the key).
    pub(crate) fn parse(dsn: &str) -> Result<Self, String> {
        const SHAPE: &str = "expected https://PUBLIC_KEY@HOST/PROJECT_ID";
        let uri: Uri = dsn.trim().parse().map_err(|_| format!("not a URL ({SHAPE})"))?;
        let scheme = uri.scheme_str().filter(|s| matches!(*s, "http" | "https"));
        let scheme = scheme.ok_or_else(|| format!("must be http or https ({SHAPE})"))?;
        let authority = uri.authority().ok_or_else(|| format!("no host ({SHAPE})"))?.as_str();
        let (userinfo, host) = authority
            .rsplit_once('@')
            .ok_or_else(|| format!("no public key ({SHAPE})"))?;
        // `KEY:SECRET@` is the legacy form; the secret is not needed any more.
        let public_key = userinfo.split(':').next().unwrap_or_default();
        if public_key.is_empty() || host.is_empty() {
            return Err(format!("no public key or host ({SHAPE})"));
        }
        let path = uri.path().trim_end_matches('/');
        let (prefix, project) = path.rsplit_once('/').unwrap_or(("", path));
        if project.is_empty() {
            return Err(format!("no project id ({SHAPE})"));
        }
        Ok(Self {
            envelope_url: format!("{scheme}://{host}{prefix}/api/{project}/envelope/"),
            public_key: public_key.to_owned(),
        })
    }

    /// The `X-Sentry-Auth` header value.
    pub(crate) fn auth_header(&self) -> String {
        format!(
            "Sentry sentry_version=7, sentry_key={}, sentry_client=platform/{}",
            self.public_key,
            env!("CARGO_PKG_VERSION")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_envelope_endpoint_and_key() {
        let dsn = Dsn::parse("https://abc123@o1.ingest.sentry.io/42").unwrap();
        assert_eq!(dsn.envelope_url, "https://o1.ingest.sentry.io/api/42/envelope/");
        assert!(
            dsn.auth_header()
                .starts_with("Sentry sentry_version=7, sentry_key=abc123, sentry_client=platform/")
        );
        let legacy = Dsn::parse("http://key:secret@127.0.0.1:9000/sentry/7/").unwrap();
        assert_eq!(legacy.envelope_url, "http://127.0.0.1:9000/sentry/api/7/envelope/");
        assert_eq!(legacy.public_key, "key");
    }

    #[test]
    fn errors_do_not_repeat_the_dsn() {
        for bad in ["", "sentry.io/1", "ftp://k@h/1", "https://h/1", "https://k@h/"] {
            let err = Dsn::parse(bad).err().unwrap_or_else(|| panic!("{bad} parsed"));
            assert!(err.contains("expected https://PUBLIC_KEY@HOST/PROJECT_ID"), "{err}");
        }
    }
}
