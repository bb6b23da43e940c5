//! Builds the [`RequestContext`] a handler sees through `Ctx`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request};
use http::HeaderMap;
use http::header::USER_AGENT;
use platform_ports::model::{RequestContext, TenantId};

/// Longest `User-Agent` kept: enough to identify a client, bounded for logs.
const MAX_USER_AGENT: usize = 256;

/// The context of `req`: request id, W3C trace id, peer address and user agent.
///
/// The actor stays `None` until authentication fills it in.
pub(crate) fn request_context(req: &Request, request_id: Arc<str>) -> RequestContext {
    let headers = req.headers();
    RequestContext {
        request_id,
        trace_id: trace_id(headers),
        actor: None,
        tenant_id: TenantId::DEFAULT,
        // The peer, not `X-Forwarded-For`: trusting that header needs a list
        // of trusted proxies the platform does not configure yet.
        client_ip: req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip()),
        user_agent: headers.get(USER_AGENT).and_then(|v| v.to_str().ok()).map(|ua| {
            // Visible ASCII (to_str succeeded), so any byte index is a char boundary.
            Arc::from(&ua[..ua.len().min(MAX_USER_AGENT)])
        }),
    }
}

/// The trace id of a valid W3C `traceparent` (`00-<trace>-<parent>-<flags>`).
fn trace_id(headers: &HeaderMap) -> Option<Arc<str>> {
    let value = headers.get("traceparent")?.to_str().ok()?.trim();
    let mut fields = value.split('-');
    let (version, trace, parent, flags) = (fields.next()?, fields.next()?, fields.next()?, fields.next()?);
    let valid = is_hex(version, 2)
        && version != "ff"
        // Version 00 has exactly four fields; later versions may append more.
        && (version != "00" || fields.next().is_none())
        && is_hex(trace, 32)
        && trace.bytes().any(|b| b != b'0')
        && is_hex(parent, 16)
        && parent.bytes().any(|b| b != b'0')
        && is_hex(flags, 2);
    valid.then(|| Arc::from(trace))
}

/// Exactly `len` lowercase hex digits, as W3C Trace Context requires.
fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use http::HeaderValue;

    use super::*;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

    fn parse(value: &str) -> Option<String> {
        let mut headers = HeaderMap::new();
        headers.insert("traceparent", HeaderValue::from_str(value).unwrap());
        trace_id(&headers).map(|t| t.to_string())
    }

    #[test]
    fn reads_a_valid_traceparent() {
        assert_eq!(
            parse(&format!("00-{TRACE}-00f067aa0ba902b7-01")).as_deref(),
            Some(TRACE)
        );
        assert_eq!(
            parse(&format!("01-{TRACE}-00f067aa0ba902b7-00-future")).as_deref(),
            Some(TRACE)
        );
    }

    #[test]
    fn rejects_invalid_traceparents() {
        for bad in [
            format!("ff-{TRACE}-00f067aa0ba902b7-01"),
            format!("00-{TRACE}-00f067aa0ba902b7-01-extra"),
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01".to_owned(),
            format!("00-{TRACE}-0000000000000000-01"),
            format!("00-{}-00f067aa0ba902b7-01", TRACE.to_uppercase()),
            format!("00-{TRACE}-00f067aa0ba902b7"),
            "garbage".to_owned(),
        ] {
            assert_eq!(parse(&bad), None, "{bad}");
        }
    }

    #[test]
    fn builds_the_context_from_headers_and_peer() {
        let peer = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)), 4000);
        let req = Request::builder()
            .header("traceparent", format!("00-{TRACE}-00f067aa0ba902b7-01"))
            .header(USER_AGENT, "x".repeat(1000))
            .extension(ConnectInfo(peer))
            .body(axum::body::Body::empty())
            .unwrap();
        let ctx = request_context(&req, Arc::from("rid"));
        assert_eq!(&*ctx.request_id, "rid");
        assert_eq!(ctx.trace_id.as_deref(), Some(TRACE));
        assert_eq!(ctx.client_ip, Some(peer.ip()));
        assert_eq!(ctx.user_agent.as_deref().map(str::len), Some(MAX_USER_AGENT));
        assert!(ctx.actor.is_none());
    }
}
