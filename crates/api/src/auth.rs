//! Signup, login, logout and the `Authenticated` extractor that guards every private route.
//!
//! The cookie (managed by actix-session, encrypted and signed with `SESSION_SECRET`) holds
//! only a random 256-bit token; the database holds its SHA-256. Every authenticated request
//! looks the token up, so a revoked session fails on its very next request.

use std::future::Future;
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::{FromRequest, HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use shared::{ApprovalRequired, AuthResponse, LoginRequest, SignupRequest, ws::ServerMessage};

use crate::activity::{self, NewEvent, kind};
use crate::approvals::{self, ApprovalRow};
use crate::device::ClientInfo;
use crate::domain::{DisplayName, Email, NewPassword, login_password};
use crate::error::ApiError;
use crate::security;
use crate::sessions::{self, EndReason, SessionRow};
use crate::startup::AppState;
use crate::throttle::Key;
use crate::users::{self, UserRow};

/// Key of the token inside the actix-session cookie state.
const TOKEN_KEY: &str = "token";

/// A request made with a valid, active session.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub user: UserRow,
    pub session: SessionRow,
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let state = app_state(&request)?;
            let token = session_token(&request, &state)?;
            authenticate(&state, &token).await
        })
    }
}

pub fn app_state(request: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    request
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal("application state missing".into()))
}

/// The token in the request's session cookie. A cookie that is present but unreadable
/// (tampered, or signed with another key) is an invalid session, not a missing one.
pub fn session_token(request: &HttpRequest, state: &AppState) -> Result<String, ApiError> {
    let token = request
        .get_session()
        .get::<String>(TOKEN_KEY)
        .unwrap_or(None);
    match token {
        Some(token) => Ok(token),
        None if sent_cookie(request, &state.settings.cookie_name) => Err(ApiError::InvalidSession),
        None => Err(ApiError::Unauthenticated),
    }
}

/// Whether the raw `Cookie` headers name this cookie, even with a value too mangled to parse
/// (a tampered cookie must read as an invalid session, not as no session).
fn sent_cookie(request: &HttpRequest, name: &str) -> bool {
    request
        .headers()
        .get_all(actix_web::http::header::COOKIE)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .any(|pair| {
            pair.trim_start()
                .split_once('=')
                .is_some_and(|(key, _)| key == name)
        })
}

/// Checks a session token against the database, ending the session if its time is up.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Authenticated, ApiError> {
    let now = state.clock.now();
    let idle = state.settings.idle_timeout;
    let Some((mut session, user)) = state.lookups.find(security::hash_token(token)).await? else {
        return Err(ApiError::InvalidSession);
    };
    if let Some(reason) = &session.end_reason {
        return Err(if EndReason::is_expiry_str(reason) {
            ApiError::SessionExpired
        } else {
            ApiError::InvalidSession
        });
    }
    if let Some((reason, at)) = session.lapsed(now, idle) {
        // End it now rather than at the next sweep, so the log and the other devices agree.
        let mut conn = state.pool.get().await?;
        let ended = conn
            .transaction::<_, ApiError, _>(async |conn| {
                let session = session.clone();

                let ended = sessions::end(conn, session.id, reason, at).await?;
                if ended {
                    activity::record(
                        conn,
                        NewEvent::new(session.user_id, kind::SESSION_EXPIRED, now)
                            .session(session.id)
                            .from_device(&session.ip, session.device_label())
                            .detail(reason.as_str()),
                    )
                    .await?;
                }
                Ok(ended)
            })
            .await?;
        if ended {
            state
                .hub
                .session_ended(user.id, session.id, reason.as_str());
        }
        return Err(ApiError::SessionExpired);
    }
    // Writing last_seen_at on every request would turn each read into a write.
    if now - session.last_seen_at
        >= chrono::Duration::from_std(state.settings.touch_interval).unwrap_or_default()
    {
        sessions::touch(&mut *state.pool.get().await?, session.id, now).await?;
        session.last_seen_at = now;
    }
    Ok(Authenticated { user, session })
}

/// Puts a fresh token in the cookie. `renew` gives a new cookie state, so a cookie planted
/// before login is never promoted (no session fixation).
pub fn start_cookie_session(cookie: &Session, token: &str) -> Result<(), ApiError> {
    cookie.renew();
    cookie
        .insert(TOKEN_KEY, token)
        .map_err(|error| ApiError::Internal(format!("session cookie: {error}")))
}

/// What a correct password leads to, decided under the user's row lock.
pub enum Admission {
    /// No other active session: logged in.
    Session { session: SessionRow, token: String },
    /// Other sessions are active but below the limit: a logged-in device must approve.
    Approval {
        approval: ApprovalRow,
        code: String,
        pending_token: String,
    },
}

/// Decides, in one transaction holding the user's row lock, whether this device may log in.
pub async fn admit(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    user: &UserRow,
    client: &ClientInfo,
    now: DateTime<Utc>,
) -> Result<Admission, ApiError> {
    let settings = &state.settings;
    let user_id = user.id;
    let admission = conn
        .transaction::<_, ApiError, _>(async |conn| {
            users::lock(conn, user_id).await?;
            // Approvals past their time are not counted as pending; the sweeper (or the
            // waiting socket) marks them expired and tells the devices.
            let (active, lapsed) =
                sessions::settle(conn, user_id, now, settings.idle_timeout).await?;
            let mut events = sessions::lapsed_events(&lapsed, now);
            let admission = if active >= settings.max_sessions {
                Err(ApiError::SessionLimit(settings.max_sessions))
            } else if active == 0 {
                let token = security::new_token();
                let session = sessions::create(
                    conn,
                    user_id,
                    &security::hash_token(&token),
                    client,
                    now,
                    settings.absolute_lifetime,
                )
                .await?;
                events.push(
                    NewEvent::new(user_id, kind::LOGIN, now)
                        .session(session.id)
                        .from_device(&client.ip, client.label()),
                );
                Ok(Admission::Session { session, token })
            } else if approvals::count_pending(conn, user_id, now).await?
                >= settings.max_pending_approvals
            {
                Err(ApiError::TooManyPendingApprovals)
            } else {
                let (approval, code, pending_token) =
                    approvals::create(conn, state, user_id, client, now).await?;
                events.push(
                    NewEvent::new(user_id, kind::APPROVAL_REQUESTED, now)
                        .from_device(&client.ip, client.label()),
                );
                Ok(Admission::Approval {
                    approval,
                    code,
                    pending_token,
                })
            };
            // Expiries found on the way are real events even when this login is refused.
            activity::record_many(conn, events).await?;
            Ok((admission, lapsed))
        })
        .await;
    let (admission, lapsed) = admission?;
    for session in &lapsed {
        state
            .hub
            .session_ended(session.user_id, session.id, &session.end_reason);
    }
    admission
}

#[post("/api/auth/signup")]
pub async fn signup(
    request: HttpRequest,
    body: web::Json<SignupRequest>,
    state: web::Data<AppState>,
    cookie: Session,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let name = DisplayName::parse(&body.name)?;
    let email = Email::parse(&body.email)?;
    let password = NewPassword::parse(body.password)?;
    let client = ClientInfo::from_request(&request, state.settings.trust_proxy);
    let password_hash = state.hasher.hash(password.into_inner()).await?;
    let now = state.clock.now();
    let token = security::new_token();
    let mut conn = state.pool.get().await?;
    let (user, session) = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let (email, name, client, token) = (&email, &name, &client, &token);

            let user = users::insert(conn, email, name, &password_hash, now)
                .await?
                .ok_or(ApiError::EmailTaken)?;
            let session = sessions::create(
                conn,
                user.id,
                &security::hash_token(token),
                client,
                now,
                state.settings.absolute_lifetime,
            )
            .await?;
            let label = client.label();
            activity::record_many(
                conn,
                vec![
                    NewEvent::new(user.id, kind::SIGNUP, now)
                        .session(session.id)
                        .from_device(&client.ip, label.clone()),
                    NewEvent::new(user.id, kind::LOGIN, now)
                        .session(session.id)
                        .from_device(&client.ip, label),
                ],
            )
            .await?;
            Ok((user, session))
        })
        .await?;
    start_cookie_session(&cookie, &token)?;
    tracing::info!(user_id = %user.id, "signed up");
    Ok(HttpResponse::Created().json(AuthResponse {
        user: user.to_wire(),
        session: session.to_wire(Some(session.id), state.settings.idle_timeout),
    }))
}

#[post("/api/auth/login")]
pub async fn login(
    request: HttpRequest,
    body: web::Json<LoginRequest>,
    state: web::Data<AppState>,
    cookie: Session,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let email = Email::parse(&body.email).map_err(|_| ApiError::InvalidCredentials)?;
    let password = login_password(body.password)?;
    let client = ClientInfo::from_request(&request, state.settings.trust_proxy);
    // The connection goes back to the pool while the password hashes.
    let user = users::find_by_email(&mut *state.pool.get().await?, &email).await?;
    let address = Key::Address(client.ip.clone());
    state.throttle.check(&address, state.clock.now())?;
    if let Some(user) = &user {
        state
            .throttle
            .check(&Key::Account(user.id), state.clock.now())?;
    }
    let valid = state
        .hasher
        .verify(
            password,
            user.as_ref().map(|user| user.password_hash.clone()),
        )
        .await?;
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    let user = match user {
        Some(user) if valid => {
            state.throttle.succeeded(user.id);
            user
        }
        Some(user) => {
            state.throttle.failed(Key::Account(user.id), now);
            state.throttle.failed(address, now);
            activity::record(
                &mut conn,
                NewEvent::new(user.id, kind::LOGIN_FAILED, now)
                    .from_device(&client.ip, client.label()),
            )
            .await?;
            return Err(ApiError::InvalidCredentials);
        }
        None => {
            state.throttle.failed(address, now);
            return Err(ApiError::InvalidCredentials);
        }
    };
    match admit(&mut conn, &state, &user, &client, now).await? {
        Admission::Session { session, token } => {
            start_cookie_session(&cookie, &token)?;
            state.hub.sessions_changed(user.id);
            Ok(HttpResponse::Ok().json(AuthResponse {
                user: user.to_wire(),
                session: session.to_wire(Some(session.id), state.settings.idle_timeout),
            }))
        }
        Admission::Approval {
            approval,
            code,
            pending_token,
        } => {
            state.hub.send_to_user(
                user.id,
                &ServerMessage::ApprovalRequested {
                    approval: approval.to_wire(state.settings.approval_max_attempts),
                },
            );
            Ok(HttpResponse::Accepted().json(ApprovalRequired {
                status: "approval_required".to_owned(),
                approval_id: approval.id,
                code,
                expires_at: approval.expires_at,
                pending_token,
            }))
        }
    }
}

#[get("/api/auth/me")]
pub async fn me(auth: Authenticated, state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(AuthResponse {
        user: auth.user.to_wire(),
        session: auth
            .session
            .to_wire(Some(auth.session.id), state.settings.idle_timeout),
    })
}

#[post("/api/auth/logout")]
pub async fn logout(
    auth: Authenticated,
    state: web::Data<AppState>,
    cookie: Session,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let session = auth.session;
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let session = &session;

        if sessions::end(conn, session.id, EndReason::Logout, now).await? {
            activity::record(
                conn,
                NewEvent::new(session.user_id, kind::LOGOUT, now)
                    .session(session.id)
                    .from_device(&session.ip, session.device_label()),
            )
            .await?;
        }
        Ok(())
    })
    .await?;
    cookie.purge();
    state
        .hub
        .session_ended(session.user_id, session.id, EndReason::Logout.as_str());
    Ok(HttpResponse::NoContent().finish())
}
