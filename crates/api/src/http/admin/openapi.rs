//! The admin API's own OpenAPI document, served at `/admin/v1/openapi.json` on the admin
//! listener (never on the public one).

use actix_web::App;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{self, RefOr};
use utoipa_actix_web::AppExt;

use crate::http::admin::routes;
use crate::http::openapi::error_response;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Session manager admin API",
        description = "What an administrator does to users' sessions, over HTTP: look a user up, \
read their session and activity logs, end sessions, unlock an account; manage the webhook \
endpoints told of what happens to sessions. It listens on \
`ADMIN_BIND` only (loopback by default), apart from the public API.\n\n\
Every request carries an API key made with `api admin api-key create NAME --scope read|write`: \
`Authorization: Bearer sm_…`. No key, an unknown or a revoked one: `401 invalid_api_key`; a \
`read` key asking for a change: `403 insufficient_scope`. A revoked key is refused at once on \
every instance. What a key does is in the user's activity log as \"by administrator (key NAME)\".\n\n\
Every error is `{\"error\": \"<message>\", \"code\": \"<code>\"}`.",
        license(name = "MIT OR Apache-2.0"),
    ),
    tags(
        (name = "users", description = "A user, their sessions and logs"),
        (name = "sessions", description = "One session, whoever's it is"),
        (name = "webhooks", description = "Endpoints told of sessions starting and ending, sign-in requests and alerts"),
    ),
    components(schemas(shared::ErrorBody)),
)]
struct AdminDoc;

/// The document of every route `routes::configure` registers, with the key's scheme and the
/// errors any operation may return.
pub fn document() -> openapi::OpenApi {
    let (_, mut document) = App::new()
        .into_utoipa_app()
        .openapi(AdminDoc::openapi())
        .configure(routes::configure)
        .split_for_parts();
    document
        .components
        .get_or_insert_with(openapi::Components::new)
        .add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A key from `api admin api-key create` (`sm_…`); `write` scope for changes",
                    ))
                    .build(),
            ),
        );
    for item in document.paths.paths.values_mut() {
        for (operation, changes) in [
            (&mut item.get, false),
            (&mut item.post, true),
            (&mut item.put, true),
            (&mut item.patch, true),
            (&mut item.delete, true),
        ] {
            if let Some(operation) = operation {
                add_common_errors(operation, changes);
            }
        }
    }
    document
}

/// Errors any admin operation can answer, whatever its handler: the key, extractors,
/// outages.
fn add_common_errors(operation: &mut openapi::path::Operation, changes: bool) {
    let mut common = vec![
        (
            "401",
            "`invalid_api_key`: no `Authorization: Bearer` key, or an unknown or revoked one",
        ),
        (
            "400",
            "`bad_request`: a path or query parameter is malformed (an id that is not a UUID, \
             a number that is not one, a cursor this API did not issue), or the body is not \
             JSON",
        ),
        (
            "503",
            "`service_unavailable`: the database does not answer; retry after `Retry-After`",
        ),
        (
            "500",
            "`internal`: a bug; the details are in the server's log only",
        ),
    ];
    if changes {
        common.push((
            "403",
            "`insufficient_scope`: a `read` key asked for a change",
        ));
    }
    if operation.request_body.is_some() {
        common.extend([
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
