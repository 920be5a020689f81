//! The published contract: an OpenAPI 3.1 document generated from the route handlers'
//! annotations (`#[utoipa::path]`), served at `/api/openapi.json` with Swagger UI at
//! `/api/docs/`. The handlers are registered through `utoipa_actix_web`, so a route without
//! an annotation does not compile and the document cannot drift from the router.

use actix_web::http::header::ContentType;
use actix_web::{App, HttpResponse, web};
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{self, RefOr, Response};
use utoipa_actix_web::AppExt;

use crate::http::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Session manager API",
        description = "Server-side sessions behind an HTTP cookie, at most N devices per user \
(limit policies), second-device approval with a 6-digit code, live events over WebSocket.\n\n\
Every error is `{\"error\": \"<message>\", \"code\": \"<code>\"}`; the `code` is stable, the \
message is for people. Requests that change state from a browser must come from an allowed \
`Origin` (`403 forbidden_origin`, also when `Origin`, `Referer` or `Sec-Fetch-Site` cannot be \
read with certainty); curl sends none of them and passes.\n\n\
The sockets (`/api/ws`, `/api/ws/approvals/{id}`) speak JSON text frames: see the \
`ServerMessage`, `ClientMessage`, `PendingMessage` and `WaitingClientMessage` schemas.",
        license(name = "MIT OR Apache-2.0"),
    ),
    tags(
        (name = "auth", description = "Sign up, sign in, sign out"),
        (name = "approvals", description = "Admitting another device with its 6-digit code"),
        (name = "sessions", description = "Your active sessions and their history"),
        (name = "account", description = "Profile, password and the activity log"),
        (name = "passkeys", description = "The account's passkeys (WebAuthn): add, list, rename, remove"),
        (name = "sockets", description = "Live events (WebSocket, JSON text frames)"),
        (name = "operations", description = "Health, readiness, CSP reports"),
    ),
    components(schemas(
        shared::ErrorBody,
        shared::ws::ServerMessage,
        shared::ws::ClientMessage,
        shared::ws::PendingMessage,
        shared::ws::WaitingClientMessage,
    )),
)]
struct ApiDoc;

/// The document as served: serialized once and shared by every worker's application (Swagger
/// UI's own route would keep a copy of the parsed document, several MiB, in each of them).
#[derive(Clone)]
pub struct Published(web::Bytes);

impl Published {
    pub fn new(document: &openapi::OpenApi) -> Result<Self, serde_json::Error> {
        serde_json::to_vec(document).map(|json| Self(json.into()))
    }
}

/// `GET /api/openapi.json`.
pub async fn published(document: web::Data<Published>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(document.0.clone())
}

/// The document of every route `routes::configure` registers, with the session cookie's
/// name (it depends on `COOKIE_SECURE`) and the errors any operation may return.
pub fn document(session_cookie_name: &str) -> openapi::OpenApi {
    let (_, mut document) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes::configure)
        .split_for_parts();
    let components = document
        .components
        .get_or_insert_with(openapi::Components::new);
    components.add_security_scheme(
        "session_cookie",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            session_cookie_name,
            "The session cookie set by `POST /api/auth/login` (HttpOnly, SameSite=Lax)",
        ))),
    );
    components.add_security_scheme(
        "pending_token",
        SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
            "token",
            "The `pending_token` of a sign-in that waits for approval (or the first socket \
             message `{\"type\":\"authenticate\",\"token\":…}`)",
        ))),
    );
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            add_common_errors(operation);
        }
    }
    document
}

/// Errors any operation can answer, whatever its handler: middleware, extractors, outages.
fn add_common_errors(operation: &mut openapi::path::Operation) {
    let changes_state = operation.request_body.is_some()
        || operation.operation_id.as_deref().is_some_and(|id| {
            ["revoke", "remove", "start_"]
                .iter()
                .any(|prefix| id.starts_with(prefix))
                || id == "logout"
        });
    let mut common = vec![
        (
            "503",
            "`service_unavailable`: the database does not answer; retry after `Retry-After`",
        ),
        (
            "500",
            "`internal`: a bug; the details are in the server's log only",
        ),
    ];
    if changes_state {
        common.push((
            "403",
            "`forbidden_origin`: a browser request from another site (`Origin` or \
             `Sec-Fetch-Site`)",
        ));
    }
    let has_parameters = operation.parameters.as_ref().is_some_and(|parameters| {
        parameters.iter().any(|parameter| {
            matches!(
                parameter,
                RefOr::T(openapi::path::Parameter {
                    parameter_in: openapi::path::ParameterIn::Path
                        | openapi::path::ParameterIn::Query,
                    ..
                })
            )
        })
    });
    if has_parameters && operation.request_body.is_none() {
        common.push((
            "400",
            "`bad_request`: a path or query parameter is malformed (an id that is not a UUID, \
             a number that is not one, a cursor this API did not issue)",
        ));
    }
    if operation.request_body.is_some() {
        common.extend([
            (
                "400",
                "`bad_request`: the body is not JSON or cannot be read, or a path parameter \
                 is malformed",
            ),
            ("413", "`payload_too_large`: the body exceeds `JSON_LIMIT`"),
            (
                "415",
                "`unsupported_media_type`: the body is not `application/json`",
            ),
            (
                "422",
                "`validation`: a field is missing, of the wrong type or invalid",
            ),
        ]);
    }
    for (status, description) in common {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(error_response(description)));
    }
}

/// An error response with the JSON envelope (the admin document uses it too).
pub fn error_response(description: &str) -> Response {
    openapi::ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            openapi::content::ContentBuilder::new()
                .schema(Some(openapi::Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The route attributes (`#[get("…")]`) take literals only: this is what keeps them and
    /// `shared::routes`, through which the app calls, the same paths.
    #[test]
    fn the_documented_paths_are_the_shared_routes() {
        let document = document("session");
        let documented: BTreeSet<&str> = document.paths.paths.keys().map(String::as_str).collect();
        let shared: BTreeSet<&str> = shared::routes::ALL.iter().copied().collect();
        assert_eq!(documented, shared);
    }
}
