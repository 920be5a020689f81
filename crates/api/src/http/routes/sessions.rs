use actix_web::{HttpResponse, delete, get, web};
use shared::{ErrorBody, SessionHistoryEntry};
use shared::{Page, RevokedCount, SessionList};
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::http::extractors::Authenticated;
use crate::http::paging::{PageQuery, decode_history_cursor, encode_history_cursor};
use crate::services::sessions;
use crate::state::AppState;

#[utoipa::path(
    tag = "sessions",
    operation_id = "list_sessions",
    summary = "Active sessions (`current` marks this one)",
    security(("session_cookie" = [])),
    responses((status = 200, description = "Oldest first", body = SessionList, links(("RevokeTheOldest" = (operation_id = "revoke_session", parameters(("id" = "$response.body#/sessions/0/id")), description = "End the oldest session listed")))), (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody))
)]
#[get("/api/sessions")]
pub async fn list_sessions(
    auth: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let sessions = sessions::list_active(&state, &auth).await?;
    Ok(HttpResponse::Ok().json(SessionList { sessions }))
}

#[utoipa::path(
    tag = "sessions",
    operation_id = "session_history",
    summary = "Every session, newest first (keyset pages)",
    params(
        ("limit" = Option<i64>, Query, description = "1 to 100 (20)", minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page", pattern = "^([0-9]{1,16}_[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$"),
    ),
    security(("session_cookie" = [])),
    responses((status = 200, description = "A page", body = Page<SessionHistoryEntry>), (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody), (status = 422, description = "`validation`: a field is missing, of the wrong type or invalid", body = ErrorBody))
)]
#[get("/api/sessions/history")]
pub async fn session_history(
    auth: Authenticated,
    query: web::Query<PageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit()?;
    let after = query.cursor().map(decode_history_cursor).transpose()?;
    let (items, next) =
        sessions::history(&state, auth.user.id, Some(auth.session.id), after, limit).await?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: next.map(encode_history_cursor),
    }))
}

/// Ends one of the user's own sessions (the current one included: that is a logout).
#[utoipa::path(
    tag = "sessions",
    operation_id = "revoke_session",
    summary = "End one of your sessions",
    params(("id" = Uuid, Path, description = "The session")),
    security(("session_cookie" = [])),
    responses(
        (status = 204, description = "Ended; its devices are told at once", links(("WhoAmINow" = (operation_id = "me", description = "The caller, if its own session was not the one ended")))),
        (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody),
        (status = 403, description = "`session_too_new`: this session is younger than `FRESH_SESSION_SECS` and the other older", body = ErrorBody),
        (status = 404, description = "`not_found`: not yours, or not active", body = ErrorBody),
    )
)]
#[delete("/api/sessions/{id}")]
pub async fn revoke_session(
    auth: Authenticated,
    path: web::Path<Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    sessions::revoke(&state, &auth, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "sessions",
    operation_id = "revoke_other_sessions",
    summary = "Sign out every other device (and cancel sign-in requests in flight)",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "How many ended", body = RevokedCount),
        (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody),
        (status = 403, description = "`session_too_new`, or `reauthentication_required` (sudo mode: the last proof is older than `REAUTH_WINDOW_SECS`)", body = ErrorBody),
    )
)]
#[delete("/api/sessions/others")]
pub async fn revoke_other_sessions(
    auth: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let revoked = sessions::revoke_others(&state, &auth).await?;
    Ok(HttpResponse::Ok().json(RevokedCount { revoked }))
}
