use actix_web::{HttpResponse, get, web};
use shared::Page;
use shared::{ActivityEntry, ErrorBody};

use crate::http::error::ApiError;
use crate::http::extractors::Authenticated;
use crate::http::paging::{PageQuery, decode_activity_cursor};
use crate::services::activity;
use crate::state::AppState;

#[utoipa::path(
    tag = "activity",
    operation_id = "list_activity",
    summary = "The account's activity log, newest first",
    params(
        ("limit" = Option<i64>, Query, description = "1 to 100 (20)", minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page", pattern = "^([0-9]{1,18})?$"),
    ),
    security(("session_cookie" = [])),
    responses((status = 200, description = "A page", body = Page<ActivityEntry>), (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody), (status = 422, description = "`validation`: a field is missing, of the wrong type or invalid", body = ErrorBody))
)]
#[get("/api/activity")]
pub async fn list_activity(
    auth: Authenticated,
    query: web::Query<PageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit()?;
    let before = query.cursor().map(decode_activity_cursor).transpose()?;
    let (items, next) = activity::page(&state, auth.user.id, before, limit).await?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: next.map(|id| id.to_string()),
    }))
}
