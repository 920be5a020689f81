//! Sessions: the check behind every authenticated request, starting one (the only place a
//! session row and its token are made), ending, listing and the session log.

use std::ops::Deref;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use shared::{ReplacedBy, SessionHistoryEntry, SessionInfo};
use uuid::Uuid;

use crate::error::Error;
use crate::events::Event;
use crate::events::unit_of_work::Tx;
use crate::model::activity::ActivityKind;
use crate::model::device::ClientInfo;
use crate::model::second_factor::ProofMethod;
use crate::model::secrets::{self, MintedToken};
use crate::model::session::{EndReason, Lifetimes, TooNew, too_new};
use crate::model::shard::ShardKey;
use crate::services::in_flight::{self, Cancelling};
use crate::state::AppState;
use crate::storage::activity::NewEntry;
use crate::storage::sessions::{self as stored, Lapsed, NewSession, SessionRow, SessionWithUser};
use crate::storage::users;
use crate::wire;

/// A request made with a valid, active session: only `authenticate` and
/// `authenticate_by_id` make one. It holds the box the read made (`lookup`, or
/// `find_with_user` for a socket; read through `Deref`), so a check moves one pointer to its
/// user.
#[derive(Debug, Clone)]
pub struct Authenticated(Box<SessionWithUser>);

impl Deref for Authenticated {
    type Target = SessionWithUser;

    fn deref(&self) -> &SessionWithUser {
        &self.0
    }
}

impl Authenticated {
    /// The session and user, for a caller that consumes them.
    pub fn into_rows(self) -> SessionWithUser {
        *self.0
    }

    /// "by Chrome 120 on Linux (Desktop) (203.0.113.9)", for the log.
    pub fn by(&self) -> String {
        format!("by {} ({})", self.session.device_label(), self.session.ip)
    }
}

/// Checks a session token, ending the session if its time is up. A revoked session fails
/// on its very next request: every check reads the row.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Authenticated, Error> {
    let found = state.lookups.find(secrets::hash_token(token)).await?;
    let found = found.ok_or(Error::InvalidSession)?;
    // A routing layer would trust the prefix: one that is not the user's proves nothing.
    if ShardKey::of_token(token).is_some_and(|key| key != ShardKey::of_user(found.session.user_id))
    {
        return Err(Error::InvalidSession);
    }
    accept(state, found).await
}

/// The same check for a session known by id (a socket acting for its session: the cookie's
/// token may have been rotated since the socket opened).
pub async fn authenticate_by_id(
    state: &AppState,
    session_id: Uuid,
) -> Result<Authenticated, Error> {
    let mut conn = state.pool.get().await?;
    let found = stored::find_with_user(&mut conn, session_id).await?;
    drop(conn);
    accept(state, found.ok_or(Error::InvalidSession)?).await
}

/// An open session in use: ended if its time is up, otherwise its use is recorded.
async fn accept(state: &AppState, mut found: Box<SessionWithUser>) -> Result<Authenticated, Error> {
    let session = &mut found.session;
    let now = state.now();
    if let Some(reason) = session.end_reason {
        return Err(match reason {
            EndReason::Replaced => match replaced_by(state, session).await? {
                Some(by) => Error::SessionReplaced {
                    by: by.device,
                    at: by.at,
                },
                None => Error::InvalidSession,
            },
            reason if reason.is_expiry() => Error::SessionExpired,
            _ => Error::InvalidSession,
        });
    }
    if end_if_lapsed(state, session, now).await?.is_some() {
        return Err(Error::SessionExpired);
    }
    // Writing last_seen_at on every request would turn each read into a write.
    if now - session.last_seen_at
        >= chrono::Duration::from_std(state.settings.session.touch_interval).unwrap_or_default()
    {
        stored::touch(&mut *state.pool.get().await?, session.id, now).await?;
        session.last_seen_at = now;
    }
    Ok(Authenticated(found))
}

/// Ends an open session whose time is up, now rather than at the next sweep, so that the
/// log and the other devices agree; the reason, if it ended.
async fn end_if_lapsed(
    state: &AppState,
    session: &SessionRow,
    now: DateTime<Utc>,
) -> Result<Option<EndReason>, Error> {
    let Some(lapse) = state
        .lifetimes()
        .lapse(session.last_seen_at, session.expires_at, now)
    else {
        return Ok(None);
    };
    state
        .unit_of_work(async |mut tx| {
            // The user's row first, as in every transaction on a user's sessions and requests.
            users::lock(tx.conn(), session.user_id).await?;
            if let Some(ended) = stored::end(
                tx.conn(),
                session.user_id,
                session.id,
                lapse.reason,
                None,
                lapse.at,
            )
            .await?
            {
                session_ended(&mut tx, &ended, lapse.reason, None, |entry| {
                    entry.detail(lapse.reason.as_str())
                });
            }
            tx.commit(()).await
        })
        .await?;
    Ok(Some(lapse.reason))
}

/// Where a session stands, as a socket checks it (reading, without counting as a use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    Active,
    /// Ended, why, and (for `replaced`) by which login.
    Ended(EndReason, Option<ReplacedBy>),
}

/// Re-reads a session by id; one whose time is up is ended now.
pub async fn standing(state: &AppState, session_id: Uuid) -> Result<Standing, Error> {
    let mut conn = state.pool.get().await?;
    let found = stored::find(&mut conn, session_id).await?;
    drop(conn);
    match found {
        Some(session) => standing_of(state, &session).await,
        None => Ok(Standing::Ended(EndReason::Revoked, None)),
    }
}

/// The sessions among `session_ids` that no longer stand, and how they ended, read with
/// one query for all of them (the held sockets' heartbeat: one read per interval, not one
/// per socket); a session whose time is up is ended now. A missing row counts as revoked.
pub async fn ended_among(
    state: &AppState,
    session_ids: &[Uuid],
) -> Result<Vec<(Uuid, Standing)>, Error> {
    if session_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut conn = state.pool.get().await?;
    let found = stored::find_many(&mut conn, session_ids).await?;
    drop(conn);
    let present: std::collections::HashSet<Uuid> = found.iter().map(|session| session.id).collect();
    let mut ended: Vec<(Uuid, Standing)> = session_ids
        .iter()
        .filter(|id| !present.contains(id))
        .map(|id| (*id, Standing::Ended(EndReason::Revoked, None)))
        .collect();
    for session in &found {
        match standing_of(state, session).await? {
            Standing::Active => {}
            standing => ended.push((session.id, standing)),
        }
    }
    Ok(ended)
}

async fn standing_of(state: &AppState, session: &SessionRow) -> Result<Standing, Error> {
    if let Some(reason) = session.end_reason {
        return Ok(Standing::Ended(reason, replaced_by(state, session).await?));
    }
    Ok(match end_if_lapsed(state, session, state.now()).await? {
        Some(reason) => Standing::Ended(reason, None),
        None => Standing::Active,
    })
}

/// The login that replaced an ended session, if one did.
async fn replaced_by(state: &AppState, session: &SessionRow) -> Result<Option<ReplacedBy>, Error> {
    let (Some(EndReason::Replaced), Some(by)) = (session.end_reason, session.ended_by) else {
        return Ok(None);
    };
    let replacing = stored::find(&mut *state.pool.get().await?, by).await?;
    Ok(replacing.map(|replacing| ReplacedBy {
        device: replacing.device_label(),
        at: session.ended_at.unwrap_or(replacing.created_at),
    }))
}

/// Refuses when the caller's session is too young to act against an older one
/// (`FRESH_SESSION_SECS`). `older_than_caller`: when the oldest session concerned started.
fn ensure_trusted(
    state: &AppState,
    auth: &Authenticated,
    older_than_caller: Option<DateTime<Utc>>,
) -> Result<(), Error> {
    let older_active = older_than_caller.is_some_and(|created| created < auth.session.created_at);
    match too_new(
        auth.session.created_at,
        older_active,
        state.settings.session.fresh_session,
        state.now(),
    ) {
        Some(TooNew {
            until,
            retry_in_seconds,
        }) => Err(Error::SessionTooNew {
            until,
            retry_in_seconds,
        }),
        None => Ok(()),
    }
}

/// Refuses a young session while an older one of the account is active (for the password
/// change and "sign out all others").
pub async fn ensure_oldest_or_trusted(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    auth: &Authenticated,
) -> Result<(), Error> {
    let oldest = stored::oldest_active_other(
        conn,
        auth.user.id,
        auth.session.id,
        state.now(),
        state.lifetimes(),
    )
    .await?;
    ensure_trusted(state, auth, oldest)
}

/// How a new session's cookie lives: `persistent` outlives the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Keep {
    pub persistent: bool,
}

/// Starts a session: the one place a session row and its cookie token are made.
pub async fn start(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    client: &ClientInfo,
    keep: Keep,
    proof: ProofMethod,
    now: DateTime<Utc>,
    lifetimes: Lifetimes,
) -> Result<(SessionRow, String), Error> {
    let minted = MintedToken::for_user(user_id);
    let session = stored::insert(
        conn,
        NewSession {
            user_id,
            persistent: keep.persistent,
            token_hash: &minted.hash,
            client,
            created_at: now,
            expires_at: lifetimes.expires_at(now),
            proof,
        },
    )
    .await?;
    Ok((session, minted.token))
}

/// Gives a session of `user_id` a new cookie token (the old one stops working at once).
pub async fn rotate_token(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    session_id: Uuid,
) -> Result<String, Error> {
    let minted = MintedToken::for_user(user_id);
    stored::replace_token(conn, session_id, &minted.hash).await?;
    Ok(minted.token)
}

/// Records that a session ended: its log entry and the event its sockets hear.
fn session_ended(
    tx: &mut Tx<'_>,
    session: &SessionRow,
    reason: EndReason,
    replaced_by: Option<ReplacedBy>,
    detail: impl FnOnce(NewEntry) -> NewEntry,
) {
    let kind = match reason {
        EndReason::Logout => ActivityKind::Logout,
        EndReason::IdleTimeout | EndReason::LifetimeExceeded | EndReason::NotCompleted => {
            ActivityKind::SessionExpired
        }
        EndReason::Revoked
        | EndReason::PasswordChanged
        | EndReason::AccountSecured
        | EndReason::EmailChanged
        | EndReason::AccountDeleted => ActivityKind::SessionRevoked,
        EndReason::Replaced | EndReason::ReplacedBySameBrowser => ActivityKind::SessionReplaced,
        EndReason::KeyChanged => ActivityKind::SessionExpired,
    };
    tx.log(detail(
        NewEntry::new(session.user_id, kind, tx.now())
            .session(session.id)
            .from_device(&session.ip, session.device_label()),
    ));
    tx.announce(Event::SessionEnded {
        user_id: session.user_id,
        session_id: session.id,
        reason,
        replaced_by,
    });
}

/// Ends the `count` least recently used sessions of the account to make room for `new`
/// (policies `evict_oldest` and `single`); their devices hear which login replaced them.
pub async fn replace_least_recently_used(
    tx: &mut Tx<'_>,
    new: &SessionRow,
    count: i64,
    lifetimes: Lifetimes,
) -> Result<(), Error> {
    let now = tx.now();
    let ended =
        stored::end_least_recently_used(tx.conn(), new.user_id, new.id, count, now, lifetimes)
            .await?;
    let by = ReplacedBy {
        device: new.device_label(),
        at: now,
    };
    for session in &ended {
        session_ended(
            tx,
            session,
            EndReason::Replaced,
            Some(by.clone()),
            |entry| entry.detail(format!("by a sign-in on {} ({})", by.device, new.ip)),
        );
    }
    Ok(())
}

/// Ends the browser's own earlier sessions that `new` (a sign-in from the same browser)
/// replaces; how many.
pub async fn replace_own_in_browser(
    tx: &mut Tx<'_>,
    new: &SessionRow,
    lifetimes: Lifetimes,
) -> Result<usize, Error> {
    let Some(device_id) = &new.device_id else {
        return Ok(0);
    };
    let reason = EndReason::ReplacedBySameBrowser;
    let now = tx.now();
    let ended =
        stored::end_in_browser(tx.conn(), new.user_id, device_id, new.id, now, lifetimes).await?;
    for session in &ended {
        session_ended(tx, session, reason, None, |entry| {
            entry.detail("the same browser signed in again")
        });
    }
    Ok(ended.len())
}

/// Ends every open session at start-up of a server whose cookie key is new: no cookie
/// made before can be read, so those sessions could only hold slots until they lapse.
pub async fn end_unreachable(state: &AppState) -> Result<usize, Error> {
    let reason = EndReason::KeyChanged;
    // No user lock: nothing else runs yet on this instance, and a login on another one
    // that meets this bulk update is retried by the conflict's loser.
    state
        .unit_of_work(async |mut tx| {
            let now = tx.now();
            let ended = stored::end_all_open(tx.conn(), reason, now).await?;
            for session in &ended {
                session_ended(&mut tx, session, reason, None, |entry| {
                    entry.detail("the server started with a new cookie key")
                });
            }
            tx.commit(ended.len()).await
        })
        .await
}

/// Ends an approved request's reserved session that was never completed.
pub async fn end_not_completed(
    tx: &mut Tx<'_>,
    user_id: Uuid,
    session_id: Uuid,
) -> Result<(), Error> {
    let reason = EndReason::NotCompleted;
    let now = tx.now();
    if let Some(ended) = stored::end(tx.conn(), user_id, session_id, reason, None, now).await? {
        session_ended(tx, &ended, reason, None, |entry| {
            entry.detail(reason.as_str())
        });
    }
    Ok(())
}

/// Records sessions that lapsed and were ended in bulk.
pub fn record_lapsed(tx: &mut Tx<'_>, lapsed: &[Lapsed]) {
    for session in lapsed {
        tx.log(
            NewEntry::new(session.user_id, ActivityKind::SessionExpired, tx.now())
                .session(session.id)
                .from_device(&session.ip, session.label.clone())
                .detail(session.end_reason.as_str()),
        );
        tx.announce(Event::SessionEnded {
            user_id: session.user_id,
            session_id: session.id,
            reason: session.end_reason,
            replaced_by: None,
        });
    }
}

/// The user's active sessions, found under the user's lock, as the limit counts them.
pub struct ActiveSessions(Vec<stored::OpenSession>);

impl ActiveSessions {
    pub fn count(&self) -> i64 {
        i64::try_from(self.0.len()).unwrap_or(i64::MAX)
    }

    /// Whether one of them is in the browser with this device-cookie id.
    pub fn in_browser(&self, device_id: &str) -> bool {
        self.0
            .iter()
            .any(|session| session.device_id.as_deref() == Some(device_id))
    }
}

/// Ends the user's lapsed sessions and finds the active ones, for a decision about the
/// limit (call under the user's row lock). The common case — nothing lapsed — is one
/// prepared query over the user's open sessions.
pub async fn settle(
    tx: &mut Tx<'_>,
    user_id: Uuid,
    lifetimes: Lifetimes,
) -> Result<ActiveSessions, Error> {
    let now = tx.now();
    let open = stored::open_sessions(tx.conn(), user_id).await?;
    let opened = open.len();
    let active: Vec<_> = open
        .into_iter()
        .filter(|open| {
            lifetimes
                .lapse(open.last_seen_at, open.expires_at, now)
                .is_none()
        })
        .collect();
    if active.len() < opened {
        let lapsed = stored::end_lapsed(tx.conn(), Some(user_id), now, lifetimes).await?;
        record_lapsed(tx, &lapsed);
    }
    Ok(ActiveSessions(active))
}

/// Ends the caller's own session.
#[tracing::instrument(skip_all, fields(user_id = %auth.user.id))]
pub async fn logout(state: &AppState, auth: &Authenticated) -> Result<(), Error> {
    end_one(state, auth, auth.session.id, EndReason::Logout).await?;
    Ok(())
}

/// Ends one of the user's sessions (the current one included: that is a logout).
#[tracing::instrument(skip_all, fields(user_id = %auth.user.id, session_id = %target))]
pub async fn revoke(state: &AppState, auth: &Authenticated, target: Uuid) -> Result<(), Error> {
    if end_one(state, auth, target, EndReason::Revoked).await? {
        Ok(())
    } else {
        Err(Error::NotFound("No such active session"))
    }
}

async fn end_one(
    state: &AppState,
    auth: &Authenticated,
    target: Uuid,
    reason: EndReason,
) -> Result<bool, Error> {
    state
        .unit_of_work(async |mut tx| {
            users::lock(tx.conn(), auth.user.id).await?;
            if target != auth.session.id
                && let Some(target_session) = stored::find(tx.conn(), target).await?
                && target_session.user_id == auth.user.id
                && target_session.end_reason.is_none()
            {
                // A young session may end younger ones, not older ones.
                ensure_trusted(state, auth, Some(target_session.created_at))?;
            }
            let by = (reason == EndReason::Revoked).then_some(auth.session.id);
            let now = tx.now();
            let ended = stored::end(tx.conn(), auth.user.id, target, reason, by, now).await?;
            if let Some(ended) = &ended {
                session_ended(&mut tx, ended, reason, None, |entry| match reason {
                    EndReason::Revoked => entry.detail(auth.by()),
                    _ => entry,
                });
            }
            tx.commit(ended.is_some()).await
        })
        .await
}

/// Signs out every other device of the user; how many.
#[tracing::instrument(skip_all, fields(user_id = %auth.user.id))]
pub async fn revoke_others(state: &AppState, auth: &Authenticated) -> Result<usize, Error> {
    state
        .unit_of_work(async |mut tx| {
            users::lock(tx.conn(), auth.user.id).await?;
            ensure_oldest_or_trusted(tx.conn(), state, auth).await?;
            // Sudo mode after the freshness rule: re-authenticating would not lift that one.
            crate::services::reauth::require_recent_proof(state, &auth.session)?;
            let signed_out = sign_out_everywhere(
                &mut tx,
                auth.user.id,
                SignOut {
                    except: Some(auth.session.id),
                    reason: EndReason::Revoked,
                    detail: &auth.by(),
                    cancelled: "signed out all other devices",
                },
            )
            .await?;
            tx.commit(signed_out.sessions).await
        })
        .await
}

/// How [`sign_out_everywhere`] signs the user out.
#[derive(Debug, Clone, Copy)]
pub struct SignOut<'a> {
    /// The session that stays (the caller's), if any; every other one ends.
    pub except: Option<Uuid>,
    pub reason: EndReason,
    /// What the log says of each session ended.
    pub detail: &'a str,
    /// What the log says of each sign-in request cancelled.
    pub cancelled: &'a str,
}

/// What [`sign_out_everywhere`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedOut {
    pub sessions: usize,
    /// Sign-in requests in flight, cancelled.
    pub requests: usize,
}

/// Ends every session of the user but `except`, each logged with its device and IP, and
/// cancels the sign-in requests in flight (they would bring a device back in), ending the
/// sessions reserved for approved ones. The user's row is locked first, so that an approval
/// (which holds it while it reserves a session) runs wholly before or wholly after: never
/// between the sessions ending and its request being cancelled, which would leave a
/// cancelled request's reserved session active.
pub async fn sign_out_everywhere(
    tx: &mut Tx<'_>,
    user_id: Uuid,
    sign_out: SignOut<'_>,
) -> Result<SignedOut, Error> {
    let SignOut {
        except,
        reason,
        detail,
        cancelled,
    } = sign_out;
    let now = tx.now();
    users::lock(tx.conn(), user_id).await?;
    let ended = stored::end_others(tx.conn(), user_id, except, reason, now).await?;
    for session in &ended {
        session_ended(tx, session, reason, None, |entry| entry.detail(detail));
    }
    let requests =
        in_flight::cancel_open(tx, user_id, Cancelling::PendingAndApproved, cancelled).await?;
    // So are sign-ins that proved the password and wait for the authenticator's code: one
    // begun with a password that was just replaced must not finish with the code alone.
    crate::storage::second_factor::delete_challenges_of(tx.conn(), user_id).await?;
    // Their reserved sessions ended above with the others (the lock lets no approval in
    // between); ended by the request too, so that no cancelled request can keep one.
    for approval in &requests {
        if let Some(session_id) = approval.session_id {
            end_not_completed(tx, user_id, session_id).await?;
        }
    }
    Ok(SignedOut {
        sessions: ended.len(),
        requests: requests.len(),
    })
}

pub async fn list_active(
    state: &AppState,
    auth: &Authenticated,
) -> Result<Vec<SessionInfo>, Error> {
    let lifetimes = state.lifetimes();
    let mut conn = state.reader(auth.user.id).await?;
    let rows = stored::list_active(&mut conn, auth.user.id, state.now(), lifetimes).await?;
    Ok(rows
        .iter()
        .map(|row| wire::session(row, Some(auth.session.id), lifetimes))
        .collect())
}

/// Position in the session log: `(created_at, id)` of the last entry seen.
pub type HistoryKey = (DateTime<Utc>, Uuid);

/// One page of the user's session log, newest first, and the key of its last entry when
/// there are more; `current` is marked as the caller's own session.
pub async fn history(
    state: &AppState,
    user_id: Uuid,
    current: Option<Uuid>,
    after: Option<HistoryKey>,
    limit: usize,
) -> Result<(Vec<SessionHistoryEntry>, Option<HistoryKey>), Error> {
    let fetch = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
    let mut conn = state.reader(user_id).await?;
    let mut rows = stored::history_page(&mut conn, user_id, after, fetch).await?;
    let has_more = rows.len() > limit;
    rows.truncate(limit);
    let now = state.now();
    let next = rows
        .last()
        .filter(|_| has_more)
        .map(|row| (row.created_at, row.id));
    let items = rows
        .iter()
        .map(|row| wire::history_entry(row, current, now, state.lifetimes()))
        .collect();
    Ok((items, next))
}
