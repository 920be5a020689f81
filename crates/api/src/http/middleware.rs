//! Middleware of every request: the CSRF and socket-hijacking guard, and the security
//! headers of every response.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};

use crate::error::Error;
use crate::http::spa::SpaPolicy;
use crate::state::AppState;

/// CSRF and cross-site WebSocket hijacking defence, for a request that changes state or
/// upgrades to a socket:
/// 1. Fetch Metadata: `Sec-Fetch-Site: cross-site` is refused whatever `Origin` says, and
///    `same-site` (another subdomain or port) unless its `Origin` is in `ALLOWED_ORIGINS`.
/// 2. An `Origin` must be one of `ALLOWED_ORIGINS` or exactly this server's own origin
///    (scheme, host and port).
///
/// Requests with neither header (curl, server-to-server) pass: browsers send them on every
/// cross-site POST and socket handshake. SameSite=Lax on the cookie is another layer.
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
            fetch_site = ?request.headers().get("sec-fetch-site"),
            reason,
            "refused a request from another site"
        );
        // A response, not an error: the outer middleware still adds its headers.
        let refused = Error::ForbiddenOrigin.error_response();
        return Ok(request.into_response(refused));
    }
    Ok(next.call(request).await?.map_into_boxed_body())
}

/// Why a state-changing request is refused, if it is.
fn refusal(request: &ServiceRequest) -> Option<&'static str> {
    let state = request.app_data::<web::Data<AppState>>()?;
    let header_text = |name: &str| {
        request
            .headers()
            .get(name)
            .map(|value| value.to_str().unwrap_or("\u{FFFD}"))
    };
    let origin = header_text("origin");
    let listed = origin.is_some_and(|origin| {
        state
            .settings
            .server
            .allowed_origins
            .iter()
            .any(|allowed| allowed == origin)
    });
    match header_text("sec-fetch-site") {
        Some("cross-site") => return Some("Sec-Fetch-Site: cross-site"),
        Some("same-site") if !listed => {
            return Some("Sec-Fetch-Site: same-site, origin not allowed");
        }
        _ => {}
    }
    let origin = origin?;
    if listed || origin == own_origin(request, state) {
        None
    } else {
        Some("Origin not allowed")
    }
}

/// `scheme://host[:port]` as the browser reached this server: the scheme a trusted proxy
/// reports (`X-Forwarded-Proto`), else plain HTTP (this server does not terminate TLS).
fn own_origin(request: &ServiceRequest, state: &AppState) -> String {
    let from_trusted_proxy = request
        .peer_addr()
        .is_some_and(|peer| state.settings.server.is_trusted_proxy(peer.ip()));
    let scheme = request
        .headers()
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .filter(|proto| from_trusted_proxy && matches!(*proto, "http" | "https"))
        .unwrap_or("http");
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or_default();
    format!("{scheme}://{host}")
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
    let policy = request.app_data::<web::Data<SpaPolicy>>().cloned();
    let mut response = next.call(request).await?.map_into_boxed_body();
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    let headers = response.headers_mut();
    let mut set = |name: HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::REFERRER_POLICY, "no-referrer");
    set(
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    if secure {
        set(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        );
    }
    if docs {
        // Swagger UI: its own scripts and styles (and inline style attributes), nothing else.
        set(header::CACHE_CONTROL, "no-cache");
        set(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
        );
    } else if api {
        // Authenticated JSON must never be stored by a browser or a proxy.
        set(header::CACHE_CONTROL, "no-store");
        set(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        );
    } else if is_html && let Some(policy) = policy {
        set(header::CONTENT_SECURITY_POLICY, policy.header());
    }
    Ok(response)
}
