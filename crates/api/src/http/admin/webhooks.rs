//! `/admin/v1/webhooks…`: the endpoints told of sessions starting and ending, sign-in
//! requests and alerts — the same service as `api admin webhook …`.

use actix_web::{HttpResponse, delete, get, post, web};
use shared::ErrorBody;
use shared::admin::{CreatedWebhook, DeliveryList, EnabledWebhook, NewWebhook, WebhookList};
use uuid::Uuid;

use crate::http::admin::keys::{AdminKey, WriteKey};
use crate::http::error::ApiError;
use crate::http::extractors::Json;
use crate::services::webhooks;
use crate::state::AppState;

#[utoipa::path(
    tag = "webhooks",
    operation_id = "admin_webhooks",
    summary = "Every endpoint with its state (enabled, failing, disabled), oldest first; never its secret",
    security(("api_key" = [])),
    responses((status = 200, description = "The endpoints", body = WebhookList))
)]
#[get("/admin/v1/webhooks")]
pub async fn list(_key: AdminKey, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let webhooks = webhooks::list(&state).await?;
    Ok(HttpResponse::Ok().json(WebhookList { webhooks }))
}

#[utoipa::path(
    tag = "webhooks",
    operation_id = "admin_add_webhook",
    summary = "Add an endpoint; the answer holds its signing secret, shown this once",
    request_body = NewWebhook,
    security(("api_key" = ["write"])),
    responses(
        (status = 201, description = "Added; deliveries are signed with `secret` (Standard Webhooks)", body = CreatedWebhook, links(
            ("Deliveries" = (operation_id = "admin_webhook_deliveries", parameters(("id" = "$response.body#/id")), description = "What was sent to it")),
            ("Enable" = (operation_id = "admin_enable_webhook", parameters(("id" = "$response.body#/id")), description = "Send to it again after it was disabled")),
            ("Remove" = (operation_id = "admin_remove_webhook", parameters(("id" = "$response.body#/id")), description = "Remove it")),
        )),
        (status = 422, description = "`validation`: the URL is not http(s), has credentials or is a private address; an event is unknown; no event", body = ErrorBody),
    )
)]
#[post("/admin/v1/webhooks")]
pub async fn add(
    _key: WriteKey,
    body: Json<NewWebhook>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let NewWebhook { url, events } = body.into_inner();
    let created = webhooks::add(&state, &url, events).await?;
    Ok(HttpResponse::Created().json(created))
}

#[utoipa::path(
    tag = "webhooks",
    operation_id = "admin_remove_webhook",
    summary = "Remove an endpoint and its deliveries; nothing more is sent to it",
    params(("id" = Uuid, Path, description = "The endpoint")),
    security(("api_key" = ["write"])),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "`not_found`: no endpoint with this id", body = ErrorBody),
    )
)]
#[delete("/admin/v1/webhooks/{id}")]
pub async fn remove(
    _key: WriteKey,
    id: web::Path<Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    webhooks::remove(&state, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "webhooks",
    operation_id = "admin_enable_webhook",
    summary = "Send to a disabled endpoint again, its failures forgotten; what was given up on when it was disabled is sent again",
    params(("id" = Uuid, Path, description = "The endpoint")),
    security(("api_key" = ["write"])),
    responses(
        (status = 200, description = "Enabled", body = EnabledWebhook),
        (status = 404, description = "`not_found`: no endpoint with this id", body = ErrorBody),
    )
)]
#[post("/admin/v1/webhooks/{id}/enable")]
pub async fn enable(
    _key: WriteKey,
    id: web::Path<Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(webhooks::enable(&state, id.into_inner()).await?))
}

#[utoipa::path(
    tag = "webhooks",
    operation_id = "admin_webhook_deliveries",
    summary = "The endpoint's latest deliveries (at most 100), newest first: state, tries, last answer",
    params(("id" = Uuid, Path, description = "The endpoint")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Newest first", body = DeliveryList),
        (status = 404, description = "`not_found`: no endpoint with this id", body = ErrorBody),
    )
)]
#[get("/admin/v1/webhooks/{id}/deliveries")]
pub async fn deliveries(
    _key: AdminKey,
    id: web::Path<Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let deliveries = webhooks::deliveries(&state, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(DeliveryList { deliveries }))
}
