//! Forward authentication for reverse proxies (nginx `auth_request`, Traefik `forwardAuth`,
//! Caddy `forward_auth`): the proxy asks, before each request to an app it protects,
//! whether the request carries a live session and whose.

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, get, web};
use serde::Deserialize;
use shared::ErrorBody;

use crate::error::Error;
use crate::http::error::ApiError;
use crate::http::extractors::session_token;
use crate::model::forward_auth::{
    Forwarded, allowed_return_to, header_text, is_browser_navigation, sign_in_url,
};
use crate::services::{Authenticated, sessions};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerifyQuery {
    /// `1`: answer a browser's page load without a session with the redirect to the
    /// sign-in page itself (for Traefik and Caddy, which pass the answer to the browser).
    #[param(minimum = 0, maximum = 1)]
    redirect: Option<u8>,
}

/// The header that carries the sign-in URL on a 401, for the proxy to redirect to
/// (nginx: `auth_request_set $sign_in $upstream_http_x_auth_redirect`).
const REDIRECT_HEADER: &str = "Redirect";

#[utoipa::path(
    tag = "auth",
    operation_id = "forward_auth",
    summary = "Forward authentication: whether the proxied request carries a live session, and whose",
    description = "For reverse proxies in front of other apps. 200 with the identity headers `X-Auth-User-Id`, `X-Auth-Email`, `X-Auth-Name` (printable ASCII as is, anything else percent-encoded UTF-8) and `X-Auth-Session-Id` (the prefix is `FORWARD_AUTH_HEADER_PREFIX`); counts as a use of the session. 401 without a live session, with `X-Auth-Redirect`: the sign-in page, with `return_to` the original URL when a trusted proxy reports it (`X-Original-URL`, or `X-Forwarded-Proto`, `-Host` and `-Uri`) and its origin is in `RETURN_TO_ORIGINS`. With `redirect=1`, a browser's page load (`X-Forwarded-Method: GET` from a trusted proxy, `Accept` naming `text/html`) gets a 302 to that page instead.",
    params(VerifyQuery),
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "A live session; the identity headers name its user and the session"),
        (status = 302, description = "`redirect=1`, a browser's page load, no live session: to the sign-in page"),
        (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody),
        (status = 422, description = "`validation`: `redirect` is neither 0 nor 1", body = ErrorBody),
    )
)]
#[get("/api/auth/verify")]
pub async fn verify(
    request: HttpRequest,
    query: web::Query<VerifyQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let redirect = match query.redirect {
        None | Some(0) => false,
        Some(1) => true,
        Some(_) => return Err(Error::Validation("redirect must be 0 or 1".into()).into()),
    };
    let checked = match session_token(&request) {
        Ok(token) => sessions::authenticate(&state, &token).await,
        Err(error) => Err(error),
    };
    let refused = match checked {
        Ok(auth) => return Ok(identity(&auth, &state.settings.forward_auth.header_prefix)),
        Err(error) if error.is_server_side() => return Err(error.into()),
        Err(refused) => refused,
    };
    let from_proxy = request
        .peer_addr()
        .is_some_and(|peer| state.settings.server.is_trusted_proxy(peer.ip()));
    let text = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
    };
    let proxied = |name: &str| text(name).filter(|_| from_proxy);
    let forwarded = Forwarded {
        original_url: proxied("x-original-url"),
        proto: proxied("x-forwarded-proto"),
        host: proxied("x-forwarded-host"),
        uri: proxied("x-forwarded-uri"),
    };
    let return_to = forwarded
        .original_url()
        .and_then(|url| allowed_return_to(&url, &state.settings.forward_auth.return_to_origins));
    let sign_in = sign_in_url(&state.settings.server.public_url(), return_to.as_deref());
    if redirect && is_browser_navigation(proxied("x-forwarded-method"), text("accept")) {
        return Ok(HttpResponse::Found()
            .insert_header((header::LOCATION, sign_in))
            .finish());
    }
    let mut response = ApiError::from(refused).error_response();
    let name = format!(
        "{}{REDIRECT_HEADER}",
        state.settings.forward_auth.header_prefix
    );
    if let (Ok(name), Ok(value)) = (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(&sign_in),
    ) {
        response.headers_mut().insert(name, value);
    }
    Ok(response)
}

/// 200 with the headers that tell the protected app who is signed in.
fn identity(auth: &Authenticated, prefix: &str) -> HttpResponse {
    let mut response = HttpResponse::Ok().finish();
    let headers = response.headers_mut();
    for (name, value) in [
        ("User-Id", auth.user.id.to_string()),
        ("Email", header_text(&auth.user.email)),
        ("Name", header_text(&auth.user.name)),
        ("Session-Id", auth.session.id.to_string()),
    ] {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(format!("{prefix}{name}").as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.insert(name, value);
        }
    }
    response
}
