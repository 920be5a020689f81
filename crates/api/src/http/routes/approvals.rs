use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use shared::ErrorBody;
use shared::{
    ApprovalDecision, ApproveRequest, AuthResponse, CompleteApprovalRequest, DenyRequest,
    EmailCodeRequest, LoginAccepted, PendingApprovalList,
};
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::http::extractors::{Authenticated, Json};
use crate::http::sign_in;
use crate::model::approval::ApprovalStatus;
use crate::model::input::ApprovalCode;
use crate::services::admission;
use crate::services::approvals::{self, Answer};
use crate::state::AppState;

fn decision(approval_id: Uuid, outcome: ApprovalStatus) -> HttpResponse {
    HttpResponse::Ok().json(ApprovalDecision {
        approval_id,
        outcome: outcome.into(),
    })
}

#[utoipa::path(
    tag = "approvals",
    operation_id = "list_approvals",
    summary = "Sign-in requests waiting for this account's approval",
    security(("session_cookie" = [])),
    responses((status = 200, description = "Pending requests", body = PendingApprovalList), (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody))
)]
#[get("/api/approvals")]
pub async fn list_approvals(
    auth: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let approvals = approvals::list_pending(&state, auth.user.id).await?;
    Ok(HttpResponse::Ok().json(PendingApprovalList { approvals }))
}

#[utoipa::path(
    tag = "approvals",
    operation_id = "approve",
    summary = "Approve a new device with the code it shows",
    params(("id" = Uuid, Path, description = "The request")),
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "`approved`", body = ApprovalDecision),
        (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`session_limit`: the limit was reached meanwhile", body = ErrorBody),
        (status = 410, description = "Over: `approval_expired`, `approval_denied`, `approval_locked`, `approval_used`, `approval_already_approved`, `approval_session_limit` or `approval_cancelled`", body = ErrorBody),
        (status = 422, description = "`wrong_code` (N tries left) or `validation` (not 6 digits)", body = ErrorBody),
    )
)]
#[post("/api/approvals/{id}/approve")]
pub async fn approve(
    auth: Authenticated,
    path: web::Path<Uuid>,
    body: Json<ApproveRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let code = ApprovalCode::parse(&body.code)?;
    let id = path.into_inner();
    let outcome = approvals::answer(&state, &auth, id, Answer::Approve(code)).await?;
    Ok(decision(id, outcome))
}

/// A body is optional: `{"suspicious": true}` denies as "this wasn't me".
#[utoipa::path(
    tag = "approvals",
    operation_id = "deny",
    summary = "Deny a new device (`suspicious`: \"this wasn't me\")",
    params(("id" = Uuid, Path, description = "The request")),
    request_body(content = Option<DenyRequest>, description = "Optional"),
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "`denied`", body = ApprovalDecision),
        (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 410, description = "Over: `approval_expired`, `approval_denied`, `approval_locked`, `approval_used`, `approval_already_approved`, `approval_session_limit` or `approval_cancelled`", body = ErrorBody),
    )
)]
#[post("/api/approvals/{id}/deny")]
pub async fn deny(
    auth: Authenticated,
    path: web::Path<Uuid>,
    body: Option<Json<DenyRequest>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let suspicious = body.is_some_and(|body| body.suspicious);
    let outcome = approvals::answer(&state, &auth, id, Answer::Deny { suspicious }).await?;
    Ok(decision(id, outcome))
}

/// The new device stops waiting: the prompt disappears from the other devices.
#[utoipa::path(
    tag = "approvals",
    operation_id = "cancel_approval",
    summary = "The waiting device withdraws its request (authenticated by its pending token)",
    params(("id" = Uuid, Path, description = "The request")),
    security(()),
    responses(
        (status = 200, description = "`cancelled`", body = ApprovalDecision),
        (status = 404, description = "`not_found`: no such request for this token", body = ErrorBody),
        (status = 410, description = "Over: `approval_expired`, `approval_denied`, `approval_locked`, `approval_used`, `approval_already_approved`, `approval_session_limit` or `approval_cancelled`", body = ErrorBody),
        (status = 422, description = "`validation`: a field is missing, of the wrong type or invalid", body = ErrorBody),
    )
)]
#[post("/api/login/approvals/{id}/cancel")]
pub async fn cancel(
    path: web::Path<Uuid>,
    body: Json<CompleteApprovalRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let outcome = approvals::cancel(&state, id, &body.pending_token).await?;
    Ok(decision(id, outcome))
}

/// The new device trades its pending token for a session cookie, once.
#[utoipa::path(
    tag = "approvals",
    operation_id = "complete_approval",
    summary = "The approved device trades its pending token for its session cookie, once",
    params(("id" = Uuid, Path, description = "The request")),
    security(()),
    responses(
        (status = 200, description = "Signed in; sets the session and device cookies", body = AuthResponse),
        (status = 401, description = "`invalid_session`: its session was revoked meanwhile", body = ErrorBody),
        (status = 404, description = "`not_found`: no such request for this token", body = ErrorBody),
        (status = 409, description = "`approval_pending`: not approved yet", body = ErrorBody),
        (status = 410, description = "Over: `approval_expired`, `approval_denied`, `approval_locked`, `approval_used`, `approval_already_approved`, `approval_session_limit` or `approval_cancelled`", body = ErrorBody),
        (status = 422, description = "`validation`: a field is missing, of the wrong type or invalid", body = ErrorBody),
    )
)]
#[post("/api/login/approvals/{id}/complete")]
pub async fn complete(
    request: HttpRequest,
    path: web::Path<Uuid>,
    body: Json<CompleteApprovalRequest>,
    state: web::Data<AppState>,
    cookie: Session,
) -> Result<HttpResponse, ApiError> {
    let (user, session, token) =
        approvals::complete(&state, path.into_inner(), &body.pending_token).await?;
    sign_in::signed_in(
        HttpResponse::Ok(),
        &request,
        &state,
        &cookie,
        &user,
        &session,
        &token,
    )
}

/// The device that was mailed a code (login's `email_confirmation_required`) types it.
#[utoipa::path(
    tag = "approvals",
    operation_id = "confirm_email_code",
    summary = "The device types the code mailed to the account, and is signed in",
    description = "For a request of login's `email_confirmation_required` (no device could approve, and this browser had never signed in to the account). The right code signs in (200, both cookies; the browser is recognised from then on), unless a device signed in meanwhile: then that device must approve (202 `approval_required`). A request takes 5 wrong codes, then it is locked.",
    params(("id" = Uuid, Path, description = "The request (`approval_id`)")),
    security(()),
    responses(
        (status = 200, description = "Signed in; sets the session and device cookies", body = AuthResponse),
        (status = 202, description = "`approval_required`: a device signed in meanwhile and must approve this one", body = LoginAccepted),
        (status = 404, description = "`not_found`: no such request for this token", body = ErrorBody),
        (status = 409, description = "`session_limit`: the limit was reached meanwhile", body = ErrorBody),
        (status = 410, description = "Over: `approval_expired` (10 minutes), `approval_locked` (5 wrong codes), `approval_used` or `approval_cancelled` (the password was reset, or the account secured)", body = ErrorBody),
        (status = 422, description = "`wrong_code` (N tries left) or `validation` (not 6 digits)", body = ErrorBody),
        (status = 429, description = "`too_many_approval_requests` or `too_many_pending_approvals`, when a device must approve; `Retry-After`", body = ErrorBody),
    )
)]
#[post("/api/login/approvals/{id}/email-code")]
pub async fn confirm_email_code(
    request: HttpRequest,
    path: web::Path<Uuid>,
    body: Json<EmailCodeRequest>,
    state: web::Data<AppState>,
    cookie: Session,
) -> Result<HttpResponse, ApiError> {
    let code = ApprovalCode::parse(&body.code)?;
    let outcome =
        admission::confirm_email_code(&state, path.into_inner(), &body.pending_token, &code)
            .await?;
    sign_in::login_outcome(&request, &state, &cookie, outcome)
}
