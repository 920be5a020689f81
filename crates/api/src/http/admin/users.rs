//! `/admin/v1/users/{email}…`: a user, their sessions and logs; ending their sessions,
//! unlocking their account.

use actix_web::{HttpResponse, delete, get, post, web};
use shared::admin::{RevokedAll, Unlocked, UserOverview};
use shared::{ActivityEntry, ErrorBody, Page, SessionHistoryEntry, SessionList};

use crate::http::admin::keys::{AdminKey, WriteKey};
use crate::http::error::ApiError;
use crate::http::paging::{
    PageQuery, decode_activity_cursor, decode_history_cursor, encode_history_cursor,
};
use crate::services::admin;
use crate::state::AppState;

#[utoipa::path(
    tag = "users",
    operation_id = "admin_user",
    summary = "A user: account, address confirmation, active sessions, sign-in requests, failed sign-ins",
    params(("email" = String, Path, description = "The account's address")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The user", body = UserOverview),
        (status = 404, description = "`not_found`: no user with this address", body = ErrorBody),
    )
)]
#[get("/admin/v1/users/{email}")]
pub async fn user(
    _key: AdminKey,
    email: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(admin::user_overview(&state, &email).await?))
}

#[utoipa::path(
    tag = "users",
    operation_id = "admin_user_sessions",
    summary = "The user's active sessions: device, IP, country, last activity (oldest first)",
    params(("email" = String, Path, description = "The account's address")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Oldest first", body = SessionList, links(("EndTheOldest" = (operation_id = "admin_revoke_session", parameters(("id" = "$response.body#/sessions/0/id")), description = "End the oldest session listed")))),
        (status = 404, description = "`not_found`: no user with this address", body = ErrorBody),
    )
)]
#[get("/admin/v1/users/{email}/sessions")]
pub async fn user_sessions(
    _key: AdminKey,
    email: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let sessions = admin::sessions(&state, &email).await?;
    Ok(HttpResponse::Ok().json(SessionList { sessions }))
}

#[utoipa::path(
    tag = "users",
    operation_id = "admin_user_history",
    summary = "The user's session log, newest first (keyset pages, as the user's own)",
    params(
        ("email" = String, Path, description = "The account's address"),
        ("limit" = Option<i64>, Query, description = "1 to 100 (20)", minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page", pattern = "^([0-9]{1,16}_[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$"),
    ),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "A page", body = Page<SessionHistoryEntry>),
        (status = 404, description = "`not_found`: no user with this address", body = ErrorBody),
        (status = 422, description = "`validation`: `limit` is out of range", body = ErrorBody),
    )
)]
#[get("/admin/v1/users/{email}/history")]
pub async fn user_history(
    _key: AdminKey,
    email: web::Path<String>,
    query: web::Query<PageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit()?;
    let after = query.cursor().map(decode_history_cursor).transpose()?;
    let (items, next) = admin::history(&state, &email, after, limit).await?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: next.map(encode_history_cursor),
    }))
}

#[utoipa::path(
    tag = "users",
    operation_id = "admin_user_activity",
    summary = "The user's activity log, newest first (keyset pages, as the user's own)",
    params(
        ("email" = String, Path, description = "The account's address"),
        ("limit" = Option<i64>, Query, description = "1 to 100 (20)", minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page", pattern = "^([0-9]{1,18})?$"),
    ),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "A page", body = Page<ActivityEntry>),
        (status = 404, description = "`not_found`: no user with this address", body = ErrorBody),
        (status = 422, description = "`validation`: `limit` is out of range", body = ErrorBody),
    )
)]
#[get("/admin/v1/users/{email}/activity")]
pub async fn user_activity(
    _key: AdminKey,
    email: web::Path<String>,
    query: web::Query<PageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit()?;
    let before = query.cursor().map(decode_activity_cursor).transpose()?;
    let (items, next) = admin::activity(&state, &email, before, limit).await?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: next.map(|id| id.to_string()),
    }))
}

#[utoipa::path(
    tag = "users",
    operation_id = "admin_revoke_user_sessions",
    summary = "End every session of the user and cancel their sign-in requests in flight",
    params(("email" = String, Path, description = "The account's address")),
    security(("api_key" = ["write"])),
    responses(
        (status = 200, description = "What ended; the user's devices are told at once, on every instance", body = RevokedAll),
        (status = 404, description = "`not_found`: no user with this address", body = ErrorBody),
    )
)]
#[delete("/admin/v1/users/{email}/sessions")]
pub async fn revoke_user_sessions(
    key: WriteKey,
    email: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let revoked = admin::revoke_all(&state, &email, &key.administrator()).await?;
    Ok(HttpResponse::Ok().json(RevokedAll {
        revoked_sessions: revoked.sessions,
        cancelled_requests: revoked.requests,
    }))
}

#[utoipa::path(
    tag = "users",
    operation_id = "admin_unlock_user",
    summary = "Forget the account's failed sign-ins, so that its owner can sign in again at once",
    params(("email" = String, Path, description = "The account's address")),
    security(("api_key" = ["write"])),
    responses(
        (status = 200, description = "How many failures were forgotten", body = Unlocked),
        (status = 404, description = "`not_found`: no user with this address", body = ErrorBody),
    )
)]
#[post("/admin/v1/users/{email}/unlock")]
pub async fn unlock_user(
    key: WriteKey,
    email: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let forgotten_failures = admin::unlock(&state, &email, &key.administrator()).await?;
    Ok(HttpResponse::Ok().json(Unlocked { forgotten_failures }))
}
