//! Accounts: storage, profile and password changes.

use actix_web::{HttpResponse, patch, post, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use shared::{AuthResponse, ChangePasswordRequest, UpdateProfileRequest, User};
use uuid::Uuid;

use crate::activity::{self, NewEvent, kind};
use crate::auth::{Authenticated, start_cookie_session};
use crate::domain::{DisplayName, Email, NewPassword, login_password};
use crate::error::ApiError;
use crate::schema::users;
use crate::security;
use crate::sessions::{self, EndReason};
use crate::startup::AppState;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl UserRow {
    pub fn to_wire(&self) -> User {
        User {
            id: self.id,
            email: self.email.clone(),
            name: self.name.clone(),
            created_at: self.created_at,
        }
    }
}

/// Inserts a user; `Ok(None)` when the email is taken.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    email: &Email,
    name: &DisplayName,
    password_hash: &str,
    now: DateTime<Utc>,
) -> QueryResult<Option<UserRow>> {
    diesel::insert_into(users::table)
        .values((
            users::id.eq(Uuid::new_v4()),
            users::email.eq(email.as_str()),
            users::name.eq(name.as_str()),
            users::password_hash.eq(password_hash),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .on_conflict(users::email)
        .do_nothing()
        .returning(UserRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

pub async fn find_by_email(
    conn: &mut AsyncPgConnection,
    email: &Email,
) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::email.eq(email.as_str()))
        .select(UserRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<UserRow> {
    users::table
        .find(user_id)
        .select(UserRow::as_select())
        .first(conn)
        .await
}

/// Locks the user's row for the rest of the transaction: every decision about how many
/// sessions a user has is taken under this lock, so concurrent logins queue up.
pub async fn lock(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<UserRow> {
    users::table
        .find(user_id)
        .select(UserRow::as_select())
        .for_update()
        .first(conn)
        .await
}

#[patch("/api/me")]
pub async fn update_profile(
    auth: Authenticated,
    body: web::Json<UpdateProfileRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let name = DisplayName::parse(&body.name)?;
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    let user = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let user = diesel::update(users::table.find(auth.user.id))
                .set((users::name.eq(name.as_str()), users::updated_at.eq(now)))
                .returning(UserRow::as_returning())
                .get_result(conn)
                .await?;
            activity::record(
                conn,
                NewEvent::new(user.id, kind::PROFILE_UPDATED, now)
                    .session(auth.session.id)
                    .from_device(&auth.session.ip, auth.session.device_label()),
            )
            .await?;
            Ok(user)
        })
        .await?;
    Ok(HttpResponse::Ok().json(user.to_wire()))
}

/// Changes the password after checking the current one. Every other session ends (a
/// password change is what people do when they fear someone else is in), and the current
/// session gets a fresh token.
#[post("/api/me/password")]
pub async fn change_password(
    auth: Authenticated,
    body: web::Json<ChangePasswordRequest>,
    state: web::Data<AppState>,
    cookie_session: actix_session::Session,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let current = login_password(body.current_password)?;
    let new = NewPassword::parse(body.new_password)?.into_inner();
    if !state
        .hasher
        .verify(current, Some(auth.user.password_hash.clone()))
        .await?
    {
        return Err(ApiError::WrongPassword);
    }
    let new_hash = state.hasher.hash(new).await?;
    let token = security::new_token();
    let token_hash = security::hash_token(&token);
    let now = state.clock.now();
    let user_id = auth.user.id;
    let current_session = auth.session.clone();
    let mut conn = state.pool.get().await?;
    let ended = conn
        .transaction::<_, ApiError, _>(async |conn| {
            diesel::update(users::table.find(user_id))
                .set((
                    users::password_hash.eq(&new_hash),
                    users::updated_at.eq(now),
                ))
                .execute(conn)
                .await?;
            let ended = sessions::end_others(
                conn,
                user_id,
                current_session.id,
                EndReason::PasswordChanged,
                now,
            )
            .await?;
            sessions::replace_token(conn, current_session.id, &token_hash).await?;
            let mut events = vec![
                NewEvent::new(user_id, kind::PASSWORD_CHANGED, now)
                    .session(current_session.id)
                    .from_device(&current_session.ip, current_session.device_label()),
            ];
            events.extend(ended.iter().map(|id| {
                NewEvent::new(user_id, kind::SESSION_REVOKED, now)
                    .session(*id)
                    .detail(EndReason::PasswordChanged.as_str())
            }));
            activity::record_many(conn, events).await?;
            Ok(ended)
        })
        .await?;
    start_cookie_session(&cookie_session, &token)?;
    for session_id in ended {
        state
            .hub
            .session_ended(user_id, session_id, EndReason::PasswordChanged.as_str());
    }
    // Only the session's token changed: what the client sees of it is as it was.
    Ok(HttpResponse::Ok().json(AuthResponse {
        user: auth.user.to_wire(),
        session: auth
            .session
            .to_wire(Some(auth.session.id), state.settings.idle_timeout),
    }))
}
