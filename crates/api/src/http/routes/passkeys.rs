//! Passkeys: the account's own (register, list, rename, remove) and signing in with one.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use shared::{
    AuthResponse, ErrorBody, LoginAccepted, Passkey, PasskeyChallenge, PasskeyList,
    PasskeyReauthenticationRequest, PasskeySignInRequest, RegisterPasskeyRequest,
    RenamePasskeyRequest, SessionInfo,
};
use uuid::Uuid;

use crate::http::cookies::known_device;
use crate::http::error::ApiError;
use crate::http::extractors::{Authenticated, ClientInfo, Json};
use crate::http::sign_in;
use crate::model::policy::MAX_PASSKEYS;
use crate::services::admission;
use crate::services::passkeys::{self, Challenge};
use crate::services::sessions::Keep;
use crate::state::AppState;
use crate::wire;

fn challenge(challenge: Challenge) -> HttpResponse {
    HttpResponse::Ok().json(PasskeyChallenge {
        challenge_id: challenge.id,
        options: challenge.options,
    })
}

#[utoipa::path(
    tag = "passkeys",
    operation_id = "start_passkey_registration",
    summary = "Begin adding a passkey: options for navigator.credentials.create",
    description = "`options` is a `PublicKeyCredentialCreationOptions` document with `publicKey` inside (binary values in base64url): a discoverable credential, user verification required, the account's passkeys excluded. Send the credential back with `challenge_id` within 5 minutes.",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "The challenge", body = PasskeyChallenge),
        (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody),
        (status = 409, description = "`passkey_limit`: the account has 10 passkeys", body = ErrorBody),
    )
)]
#[post("/api/me/passkeys/register/start")]
pub async fn start_registration(
    auth: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(challenge(
        passkeys::start_registration(&state, &auth).await?,
    ))
}

#[utoipa::path(
    tag = "passkeys",
    operation_id = "finish_passkey_registration",
    summary = "Finish adding a passkey: the credential navigator.credentials.create made",
    security(("session_cookie" = [])),
    responses(
        (status = 201, description = "Added", body = Passkey),
        (status = 400, description = "`invalid_challenge` (unknown, used, expired or another account's) or `passkey_rejected` (did not verify: origin, challenge, signature; or registered already)", body = ErrorBody),
        (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody),
        (status = 409, description = "`passkey_limit`", body = ErrorBody),
        (status = 422, description = "`validation`: the name (1 to 100 characters), or not a WebAuthn credential", body = ErrorBody),
    )
)]
#[post("/api/me/passkeys/register/finish")]
pub async fn finish_registration(
    auth: Authenticated,
    client: ClientInfo,
    body: Json<RegisterPasskeyRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let row = passkeys::finish_registration(
        &state,
        &auth,
        &client,
        body.challenge_id,
        &body.name,
        body.credential,
    )
    .await?;
    Ok(HttpResponse::Created().json(wire::passkey(&row)))
}

#[utoipa::path(
    tag = "passkeys",
    operation_id = "list_passkeys",
    summary = "The account's passkeys, oldest first",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "Name, created, last used", body = PasskeyList),
        (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody),
    )
)]
#[get("/api/me/passkeys")]
pub async fn list_passkeys(
    auth: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let rows = passkeys::list(&state, &auth).await?;
    Ok(HttpResponse::Ok().json(PasskeyList {
        passkeys: rows.iter().map(wire::passkey).collect(),
        max_passkeys: u32::try_from(MAX_PASSKEYS).unwrap_or(u32::MAX),
    }))
}

#[utoipa::path(
    tag = "passkeys",
    operation_id = "rename_passkey",
    summary = "Rename one of your passkeys",
    params(("id" = Uuid, Path, description = "The passkey")),
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "Renamed", body = Passkey),
        (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody),
        (status = 404, description = "`not_found`: not yours", body = ErrorBody),
        (status = 422, description = "`validation`: 1 to 100 characters", body = ErrorBody),
    )
)]
#[patch("/api/me/passkeys/{id}")]
pub async fn rename_passkey(
    auth: Authenticated,
    path: web::Path<Uuid>,
    body: Json<RenamePasskeyRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let row = passkeys::rename(&state, &auth, path.into_inner(), &body.name).await?;
    Ok(HttpResponse::Ok().json(wire::passkey(&row)))
}

#[utoipa::path(
    tag = "passkeys",
    operation_id = "remove_passkey",
    summary = "Remove one of your passkeys: it signs in no more",
    params(("id" = Uuid, Path, description = "The passkey")),
    security(("session_cookie" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody),
        (status = 404, description = "`not_found`: not yours", body = ErrorBody),
    )
)]
#[delete("/api/me/passkeys/{id}")]
pub async fn remove_passkey(
    auth: Authenticated,
    client: ClientInfo,
    path: web::Path<Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    passkeys::remove(&state, &auth, &client, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "auth",
    operation_id = "start_passkey_sign_in",
    summary = "Begin signing in with a passkey: options for navigator.credentials.get",
    description = "`options` is a `PublicKeyCredentialRequestOptions` document with `publicKey` inside (binary values in base64url), `allowCredentials` empty: the browser offers the passkeys it holds for this site. Good for a button, and for autofill (`mediation: \"conditional\"`, which the client adds). Send the credential back with `challenge_id` within 5 minutes.",
    security(()),
    responses(
        (status = 200, description = "The challenge", body = PasskeyChallenge),
        (status = 429, description = "`too_many_attempts`: this address began `PASSKEY_SIGN_IN_MAX_PER_IP` (300) passkey sign-ins within 5 minutes; `Retry-After`", body = ErrorBody),
    )
)]
#[post("/api/auth/passkey/start")]
pub async fn start_sign_in(
    client: ClientInfo,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(challenge(
        passkeys::start_sign_in(&state, &client.ip).await?,
    ))
}

/// The same outcomes as a password sign-in, but the passkey vouches for an unrecognised
/// browser (no mailed code).
#[utoipa::path(
    tag = "auth",
    operation_id = "finish_passkey_sign_in",
    summary = "Sign in with a passkey: the credential navigator.credentials.get made",
    description = "As `POST /api/auth/login` once the password was right: 200 with the cookies, 202 `approval_required` when a signed-in device must approve (policy `approve`), 409 `session_limit`, 429. A passkey is proof enough for a browser the account does not know: no code is mailed.",
    security(()),
    responses(
        (status = 200, description = "Signed in; sets the session cookie (persistent with `keep_signed_in`) and the device cookie", body = AuthResponse),
        (status = 202, description = "`approval_required` (the `status` field)", body = LoginAccepted),
        (status = 400, description = "`invalid_challenge` (unknown, used or expired) or `passkey_rejected` (did not verify, or a passkey removed or never registered)", body = ErrorBody),
        (status = 409, description = "`session_limit`: Already N sessions active", body = ErrorBody),
        (status = 422, description = "`validation`: not a WebAuthn credential", body = ErrorBody),
        (status = 429, description = "`too_many_pending_approvals` or `too_many_approval_requests`; `Retry-After`", body = ErrorBody),
    )
)]
#[post("/api/auth/passkey/finish")]
pub async fn finish_sign_in(
    request: HttpRequest,
    client: ClientInfo,
    body: Json<PasskeySignInRequest>,
    state: web::Data<AppState>,
    cookie: Session,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let user = passkeys::finish_sign_in(&state, body.challenge_id, body.credential).await?;
    let known = known_device(&request, &state, &user.email);
    let keep = Keep {
        persistent: body.keep_signed_in,
    };
    let outcome = admission::passkey_login(&state, user, known, keep, &client).await?;
    sign_in::login_outcome(&request, &state, &cookie, outcome)
}

#[utoipa::path(
    tag = "auth",
    operation_id = "start_passkey_reauthentication",
    summary = "Sudo mode with a passkey: options for navigator.credentials.get",
    description = "`options` is a `PublicKeyCredentialRequestOptions` document with `publicKey` inside, `allowCredentials` listing the account's passkeys, user verification required. Send the credential to `/api/auth/reauthenticate/passkey/finish` with `challenge_id` within 5 minutes.",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "The challenge", body = PasskeyChallenge),
        (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody),
        (status = 404, description = "`not_found`: the account has no passkey", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`: this session began `LOGIN_MAX_FAILURES` of them within the window; `Retry-After`", body = ErrorBody),
    )
)]
#[post("/api/auth/reauthenticate/passkey/start")]
pub async fn start_reauthentication(
    auth: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(challenge(
        passkeys::start_reauthentication(&state, &auth).await?,
    ))
}

#[utoipa::path(
    tag = "auth",
    operation_id = "finish_passkey_reauthentication",
    summary = "Sudo mode with a passkey: the credential navigator.credentials.get made",
    description = "Renews the session's proof (`proof_method` `passkey`): changes that need one are allowed for `REAUTH_WINDOW_SECS` from now.",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "The session with its new `proved_at` and `proof_method`", body = SessionInfo),
        (status = 400, description = "`invalid_challenge` (unknown, used, expired or another session's account) or `passkey_rejected` (did not verify, or not one of the account's passkeys)", body = ErrorBody),
        (status = 401, description = crate::http::error::NOT_SIGNED_IN, body = ErrorBody),
        (status = 422, description = "`validation`: not a WebAuthn credential", body = ErrorBody),
    )
)]
#[post("/api/auth/reauthenticate/passkey/finish")]
pub async fn finish_reauthentication(
    auth: Authenticated,
    body: Json<PasskeyReauthenticationRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let session =
        passkeys::finish_reauthentication(&state, &auth, body.challenge_id, body.credential)
            .await?;
    Ok(HttpResponse::Ok().json(wire::session(&session, Some(session.id), state.lifetimes())))
}
