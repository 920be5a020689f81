//! Middleware of every request: the CSRF and socket-hijacking guard, and the security
//! headers of every response.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, AsHeaderName, HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};

use crate::error::Error;
use crate::http::error::ApiError;
use crate::http::spa::SpaPolicy;
use crate::state::AppState;

/// CSRF and cross-site WebSocket hijacking defence, for a request that changes state or
/// upgrades to a socket (the decision is [`origin_refusal`]):
/// 1. Fetch Metadata: `Sec-Fetch-Site: cross-site` is refused whatever `Origin` says, and
///    `same-site` (another subdomain or port) unless its `Origin` is in `ALLOWED_ORIGINS`.
/// 2. The origin it comes from (`Origin`, else the origin of its `Referer`) must be one of
///    `ALLOWED_ORIGINS` or exactly this server's own origin (scheme, host and port).
/// 3. It fails closed: what cannot be read with certainty is refused — a header sent twice
///    or not in visible ASCII, an `Origin` that is no origin (`null` included), a `Referer`
///    without one, a `Sec-Fetch-Site` value it does not know.
///
/// Requests with none of these headers (curl, server-to-server) pass: browsers send them on
/// every cross-site POST and socket handshake. SameSite=Lax on the cookie is another layer.
pub async fn origin_guard(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let changes_state = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) || request.headers().contains_key(header::UPGRADE);
    if changes_state && let Some(reason) = refusal(&request) {
        tracing::info!(
            path = request.path(),
            origin = ?request.headers().get(header::ORIGIN),
            referer = ?request.headers().get(header::REFERER),
            fetch_site = ?request.headers().get(SEC_FETCH_SITE),
            reason,
            "refused a request from another site"
        );
        // A response, not an error: the outer middleware still adds its headers.
        let refused = ApiError(Error::ForbiddenOrigin).error_response();
        return Ok(request.into_response(refused));
    }
    Ok(next.call(request).await?.map_into_boxed_body())
}

const SEC_FETCH_SITE: &str = "sec-fetch-site";

/// A request header as the origin guard reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderRead<'a> {
    Absent,
    Once(&'a str),
    /// Sent more than once, or not visible ASCII: what it says is not certain.
    Unreadable,
}

impl<'a> HeaderRead<'a> {
    fn of(headers: &'a HeaderMap, name: impl AsHeaderName + Copy) -> Self {
        let mut values = headers.get_all(name);
        match (values.next(), values.next()) {
            (None, _) => Self::Absent,
            (Some(value), None) => value.to_str().map_or(Self::Unreadable, Self::Once),
            (Some(_), Some(_)) => Self::Unreadable,
        }
    }
}

/// What a state-changing request says about the site it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Provenance<'a> {
    pub origin: HeaderRead<'a>,
    pub referer: HeaderRead<'a>,
    pub fetch_site: HeaderRead<'a>,
}

/// Why a state-changing request with this provenance is refused, if it is: the origin
/// guard's whole decision. `own_origin` is `None` when this server's origin cannot be told
/// (no readable `Host`): then only `ALLOWED_ORIGINS` can match.
pub fn origin_refusal(
    provenance: Provenance<'_>,
    allowed_origins: &[String],
    own_origin: Option<&str>,
) -> Option<&'static str> {
    use HeaderRead::{Absent, Once, Unreadable};
    let claimed = match (provenance.origin, provenance.referer) {
        (Unreadable, _) => return Some("Origin unreadable"),
        (Once(origin), _) if origin_of(origin) == Some(origin) => Some(origin),
        (Once(_), _) => return Some("Origin is not an origin"),
        (Absent, Unreadable) => return Some("Referer unreadable"),
        (Absent, Once(referer)) => match origin_of(referer) {
            Some(origin) => Some(origin),
            None => return Some("Referer has no origin"),
        },
        (Absent, Absent) => None,
    };
    let listed =
        claimed.is_some_and(|claimed| allowed_origins.iter().any(|allowed| allowed == claimed));
    match provenance.fetch_site {
        Unreadable => return Some("Sec-Fetch-Site unreadable"),
        Once("cross-site") => return Some("Sec-Fetch-Site: cross-site"),
        Once("same-site") if !listed => {
            return Some("Sec-Fetch-Site: same-site, origin not allowed");
        }
        Once("same-site" | "same-origin" | "none") | Absent => {}
        Once(_) => return Some("Sec-Fetch-Site unknown"),
    }
    match claimed {
        None => None,
        Some(_) if listed => None,
        Some(claimed) if own_origin == Some(claimed) => None,
        Some(_) => Some("Origin not allowed"),
    }
}

/// `scheme://host[:port]` of an absolute http(s) URL, as browsers write it in `Origin`;
/// `None` when it has none (`null`, a relative or other-scheme URL, credentials in it).
fn origin_of(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "http" | "https") {
        return None;
    }
    let host_and_port = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host_and_port.is_empty() || host_and_port.contains('@') {
        return None;
    }
    url.get(..url.len() - rest.len() + host_and_port.len())
}

/// Why a state-changing request is refused, if it is.
fn refusal(request: &ServiceRequest) -> Option<&'static str> {
    let Some(state) = request.app_data::<web::Data<AppState>>() else {
        return Some("no settings to check the origin against");
    };
    let headers = request.headers();
    let provenance = Provenance {
        origin: HeaderRead::of(headers, &header::ORIGIN),
        referer: HeaderRead::of(headers, &header::REFERER),
        fetch_site: HeaderRead::of(headers, SEC_FETCH_SITE),
    };
    let own = own_origin(request, state);
    origin_refusal(
        provenance,
        &state.settings.server.allowed_origins,
        own.as_deref(),
    )
}

/// `scheme://host[:port]` as the browser reached this server: the scheme a trusted proxy
/// reports (`X-Forwarded-Proto`), else plain HTTP (this server does not terminate TLS).
/// `None` without one readable `Host`.
fn own_origin(request: &ServiceRequest, state: &AppState) -> Option<String> {
    let from_trusted_proxy = request
        .peer_addr()
        .is_some_and(|peer| state.settings.server.is_trusted_proxy(peer.ip()));
    let scheme = request
        .headers()
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .filter(|proto| from_trusted_proxy && matches!(*proto, "http" | "https"))
        .unwrap_or("http");
    match HeaderRead::of(request.headers(), &header::HOST) {
        HeaderRead::Once(host) if !host.is_empty() => Some(format!("{scheme}://{host}")),
        _ => None,
    }
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path == shared::routes::HEALTHZ || path == shared::routes::READYZ
}

/// Headers every response carries, and those of API responses and of the app's document
/// (see SECURITY.md).
pub async fn security_headers(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let api = is_api(request.path());
    let docs = request.path().starts_with("/api/docs/");
    let secure = request
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| state.settings.session.cookie_secure);
    let mut response = next.call(request).await?.map_into_boxed_body();
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    // Read for documents only, and borrowed (see `extractors::app_state_ref`).
    let document_policy = if is_html && !api && !docs {
        response
            .request()
            .app_data::<web::Data<SpaPolicy>>()
            .and_then(|policy| HeaderValue::from_str(policy.header()).ok())
    } else {
        None
    };
    let headers = response.headers_mut();
    // Static values: no parsing or allocation per response (this runs on every request).
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if secure {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    if docs {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                 img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
            ),
        );
    } else if api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
    } else if let Some(value) = document_policy {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::HeaderRead::{Absent, Once, Unreadable};
    use super::*;

    const OWN: &str = "http://127.0.0.1:8000";

    fn allowed() -> Vec<String> {
        vec!["http://localhost:8080".to_owned()]
    }

    fn decide(
        origin: HeaderRead<'_>,
        referer: HeaderRead<'_>,
        fetch_site: HeaderRead<'_>,
    ) -> Option<&'static str> {
        let provenance = Provenance {
            origin,
            referer,
            fetch_site,
        };
        origin_refusal(provenance, &allowed(), Some(OWN))
    }

    #[test]
    fn the_app_an_allowed_origin_and_curl_pass() {
        assert_eq!(decide(Once(OWN), Absent, Once("same-origin")), None);
        assert_eq!(decide(Once(OWN), Absent, Absent), None);
        assert_eq!(
            decide(Once("http://localhost:8080"), Absent, Once("same-site")),
            None
        );
        assert_eq!(decide(Absent, Absent, Absent), None, "curl");
        assert_eq!(
            decide(Absent, Once("http://127.0.0.1:8000/dashboard?x#y"), Absent),
            None,
            "an old browser's Referer from the app"
        );
    }

    #[test]
    fn another_site_is_refused_whatever_it_claims() {
        assert!(decide(Once("https://evil.example"), Absent, Absent).is_some());
        assert!(decide(Once(OWN), Absent, Once("cross-site")).is_some());
        assert!(decide(Absent, Absent, Once("cross-site")).is_some());
        assert!(decide(Once("http://127.0.0.1:1"), Absent, Once("same-site")).is_some());
        assert!(decide(Once("https://127.0.0.1:8000"), Absent, Absent).is_some());
        assert!(decide(Absent, Once("https://evil.example/page"), Absent).is_some());
        // Origin wins over Referer.
        assert!(decide(Once("https://evil.example"), Once(OWN), Absent).is_some());
    }

    #[test]
    fn what_cannot_be_read_with_certainty_is_refused() {
        for origin in [
            Unreadable,
            Once("null"),
            Once(""),
            Once("http://127.0.0.1:8000/"),
        ] {
            assert!(decide(origin, Absent, Absent).is_some(), "{origin:?}");
        }
        for referer in [
            Unreadable,
            Once("/relative"),
            Once("about:blank"),
            Once("http://user@127.0.0.1:8000/"),
            Once("http:///path"),
        ] {
            assert!(decide(Absent, referer, Absent).is_some(), "{referer:?}");
        }
        for fetch_site in [Unreadable, Once("somewhere-new"), Once("")] {
            assert!(
                decide(Once(OWN), Absent, fetch_site).is_some(),
                "{fetch_site:?}"
            );
        }
        // Without a readable Host, only the allowed origins are known.
        let provenance = Provenance {
            origin: Once(OWN),
            referer: Absent,
            fetch_site: Absent,
        };
        assert!(origin_refusal(provenance, &allowed(), None).is_some());
        let listed = Provenance {
            origin: Once("http://localhost:8080"),
            ..provenance
        };
        assert_eq!(origin_refusal(listed, &allowed(), None), None);
    }

    #[test]
    fn a_header_sent_twice_or_in_bytes_is_unreadable() {
        let mut headers = HeaderMap::new();
        assert_eq!(HeaderRead::of(&headers, &header::ORIGIN), Absent);
        headers.append(header::ORIGIN, HeaderValue::from_static("http://a"));
        assert_eq!(HeaderRead::of(&headers, &header::ORIGIN), Once("http://a"));
        headers.append(header::ORIGIN, HeaderValue::from_static("http://b"));
        assert_eq!(HeaderRead::of(&headers, &header::ORIGIN), Unreadable);
        let mut bytes = HeaderMap::new();
        bytes.insert(
            header::REFERER,
            HeaderValue::from_bytes(b"http://\xe9vil.example").unwrap(),
        );
        assert_eq!(HeaderRead::of(&bytes, &header::REFERER), Unreadable);
    }

    #[test]
    fn an_origin_is_scheme_host_and_port() {
        assert_eq!(
            origin_of("http://a.example:81/x?y"),
            Some("http://a.example:81")
        );
        assert_eq!(origin_of("https://a.example"), Some("https://a.example"));
        assert_eq!(origin_of("https://a.example#f"), Some("https://a.example"));
        assert_eq!(origin_of("null"), None);
        assert_eq!(origin_of("ftp://a.example/"), None);
    }
}
