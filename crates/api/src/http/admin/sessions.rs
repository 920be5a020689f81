//! `/admin/v1/sessions/{id}`: one session, whoever's it is.

use actix_web::{HttpResponse, delete, web};
use shared::ErrorBody;
use uuid::Uuid;

use crate::http::admin::keys::WriteKey;
use crate::http::error::ApiError;
use crate::services::admin;
use crate::state::AppState;

#[utoipa::path(
    tag = "sessions",
    operation_id = "admin_revoke_session",
    summary = "End one session",
    params(("id" = Uuid, Path, description = "The session")),
    security(("api_key" = ["write"])),
    responses(
        (status = 204, description = "Ended; its devices are told at once, on every instance"),
        (status = 404, description = "`not_found`: no active session with this id", body = ErrorBody),
    )
)]
#[delete("/admin/v1/sessions/{id}")]
pub async fn revoke_session(
    key: WriteKey,
    id: web::Path<Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    admin::revoke_session(&state, id.into_inner(), &key.administrator()).await?;
    Ok(HttpResponse::NoContent().finish())
}
