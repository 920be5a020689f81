//! "Download my data" (`GET /api/me/export`): one JSON document with the profile, how the
//! account signs in (its passkeys by name, whether the authenticator app is on), every
//! session of the log, every sign-in request, the activity log, the alerts among it, what
//! the account signed in from before, and the mail it was sent — never a secret, hash or
//! token (no column holding one is read: the rows are mapped field by field).
//!
//! It streams: the document is written in chunks, the long sections (sessions, requests,
//! activity, alerts) a page of `PAGE` rows at a time by keyset, each page on a pooled
//! connection taken for that page only, so neither memory nor a connection grows with the
//! account's history. Pages are separate reads, not one snapshot: a session that starts
//! while the document is written may be missing from it. A failure half-way ends the
//! response early (the document is then not valid JSON, which the client sees).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::Stream;
use serde::Serialize;
use uuid::Uuid;

use crate::error::Error;
use crate::model::activity::ActivityKind;
use crate::services::{Authenticated, sessions::HistoryKey, throttle};
use crate::state::AppState;
use crate::storage::approvals::ApprovalRow;
use crate::storage::{
    activity, approvals, history, outbox, passkeys, second_factor, sessions as stored_sessions,
};
use crate::wire;

/// Rows read per query.
const PAGE: i64 = 500;

/// The activity kinds that are alerts (shown on the devices and mailed).
const ALERT_KINDS: [ActivityKind; 4] = [
    ActivityKind::NewDeviceLogin,
    ActivityKind::NewCountryLogin,
    ActivityKind::SuspiciousLoginDenied,
    ActivityKind::LoginRefused,
];

#[derive(Serialize)]
struct Profile<'a> {
    id: Uuid,
    email: &'a str,
    name: &'a str,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    email_verified_at: Option<DateTime<Utc>>,
}

/// How the account signs in besides its password (never a secret: no key, no code).
#[derive(Serialize)]
struct SignInMethods {
    passkeys: Vec<shared::Passkey>,
    authenticator_app_enabled_at: Option<DateTime<Utc>>,
    recovery_codes_left: i64,
}

/// A sign-in request as the export shows it (without its code's and token's hashes).
#[derive(Serialize)]
struct Request {
    id: Uuid,
    channel: &'static str,
    status: &'static str,
    device: String,
    os: String,
    browser: String,
    user_agent: String,
    ip: String,
    country: Option<String>,
    failed_attempts: i32,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
    session_id: Option<Uuid>,
}

impl From<&ApprovalRow> for Request {
    fn from(row: &ApprovalRow) -> Self {
        Self {
            id: row.id,
            channel: row.channel.as_str(),
            status: row.status.as_str(),
            device: row.device.clone(),
            os: row.os.clone(),
            browser: row.browser.clone(),
            user_agent: row.user_agent.clone(),
            ip: row.ip.clone(),
            country: row.country.clone(),
            failed_attempts: row.failed_attempts,
            created_at: row.created_at,
            expires_at: row.expires_at,
            decided_at: row.decided_at,
            session_id: row.session_id,
        }
    }
}

/// A mail the account was sent (its kind, address and times; never its content, which
/// held a link's token until sent).
#[derive(Serialize)]
struct SentMail {
    kind: String,
    recipient: String,
    queued_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
}

/// Where the writing is.
enum Step {
    Head,
    Sessions(Option<HistoryKey>),
    Requests(Option<(DateTime<Utc>, Uuid)>),
    Activity(Option<i64>),
    Alerts(Option<i64>),
    Done,
}

/// Before an export: at most a few an hour per account (each reads the whole history).
pub async fn begin(state: &AppState, auth: &Authenticated) -> Result<(), Error> {
    throttle::begin_export(state, auth.user.id).await
}

/// The document, in chunks. Call [`begin`] first.
pub fn document(
    state: Arc<AppState>,
    auth: Authenticated,
) -> impl Stream<Item = Result<Vec<u8>, Error>> {
    futures_util::stream::unfold(Step::Head, move |step| {
        let state = state.clone();
        let auth = auth.clone();
        async move {
            match write(&state, &auth, step).await {
                Ok(Some((chunk, next))) => Some((Ok(chunk), next)),
                Ok(None) => None,
                Err(error) => {
                    tracing::warn!(error = %error.chain(), user_id = %auth.user.id, "data export failed half-way");
                    Some((Err(error), Step::Done))
                }
            }
        }
    })
}

fn json(value: &impl Serialize) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(Error::internal)
}

/// `items` as array elements: a comma first unless they open the array.
fn elements(items: &[impl Serialize], opening: bool) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    for (index, item) in items.iter().enumerate() {
        if index > 0 || !opening {
            out.push(b',');
        }
        out.extend(json(item)?);
    }
    Ok(out)
}

/// The chunk for `step` and the step after it; `None` once the document is written.
async fn write(
    state: &AppState,
    auth: &Authenticated,
    step: Step,
) -> Result<Option<(Vec<u8>, Step)>, Error> {
    let user = &auth.user;
    let mut conn = state.pool.get().await?;
    let (chunk, next) = match step {
        Step::Head => {
            let mut out = br#"{"format":"session-manager-export/1","exported_at":"#.to_vec();
            out.extend(json(&state.now())?);
            out.extend(br#","profile":"#);
            out.extend(json(&Profile {
                id: user.id,
                email: &user.email,
                name: &user.name,
                created_at: user.created_at,
                updated_at: user.updated_at,
                email_verified_at: user.email_verified_at,
            })?);
            out.extend(br#","sign_in_methods":"#);
            out.extend(json(&SignInMethods {
                passkeys: passkeys::list(&mut conn, user.id)
                    .await?
                    .iter()
                    .map(wire::passkey)
                    .collect(),
                authenticator_app_enabled_at: user.totp_enabled_at,
                recovery_codes_left: second_factor::recovery_codes_left(&mut conn, user.id).await?,
            })?);
            out.extend(br#","signed_in_from":"#);
            out.extend(json(&history::list(&mut conn, user.id).await?)?);
            let mail: Vec<SentMail> = outbox::list_for_user(&mut conn, user.id)
                .await?
                .into_iter()
                .map(|mail| SentMail {
                    kind: mail.kind,
                    recipient: mail.recipient,
                    queued_at: mail.created_at,
                    sent_at: mail.sent_at,
                })
                .collect();
            out.extend(br#","mail":"#);
            out.extend(json(&mail)?);
            out.extend(br#","sessions":["#);
            (out, Step::Sessions(None))
        }
        Step::Sessions(after) => {
            let rows = stored_sessions::history_page(&mut conn, user.id, after, PAGE).await?;
            let now = state.now();
            let items: Vec<_> = rows
                .iter()
                .map(|row| wire::history_entry(row, Some(auth.session.id), now, state.lifetimes()))
                .collect();
            let mut out = elements(&items, after.is_none())?;
            match rows.last().filter(|_| is_full(rows.len())) {
                Some(last) => (out, Step::Sessions(Some((last.created_at, last.id)))),
                None => {
                    out.extend(br#"],"sign_in_requests":["#);
                    (out, Step::Requests(None))
                }
            }
        }
        Step::Requests(after) => {
            let rows = approvals::page(&mut conn, user.id, after, PAGE).await?;
            let items: Vec<Request> = rows.iter().map(Request::from).collect();
            let mut out = elements(&items, after.is_none())?;
            match rows.last().filter(|_| is_full(rows.len())) {
                Some(last) => (out, Step::Requests(Some((last.created_at, last.id)))),
                None => {
                    out.extend(br#"],"activity":["#);
                    (out, Step::Activity(None))
                }
            }
        }
        Step::Activity(before) => {
            let rows = activity::page(&mut conn, user.id, before, PAGE).await?;
            let last = rows
                .last()
                .filter(|_| is_full(rows.len()))
                .map(|row| row.id);
            let items: Vec<_> = rows.into_iter().map(wire::activity_entry).collect();
            let mut out = elements(&items, before.is_none())?;
            match last {
                Some(last) => (out, Step::Activity(Some(last))),
                None => {
                    out.extend(br#"],"alerts":["#);
                    (out, Step::Alerts(None))
                }
            }
        }
        Step::Alerts(before) => {
            let kinds = ALERT_KINDS.map(ActivityKind::as_str);
            let rows = activity::page_of_kinds(&mut conn, user.id, &kinds, before, PAGE).await?;
            let last = rows
                .last()
                .filter(|_| is_full(rows.len()))
                .map(|row| row.id);
            let items: Vec<_> = rows.into_iter().map(wire::activity_entry).collect();
            let mut out = elements(&items, before.is_none())?;
            match last {
                Some(last) => (out, Step::Alerts(Some(last))),
                None => {
                    out.extend(b"]}\n");
                    (out, Step::Done)
                }
            }
        }
        Step::Done => return Ok(None),
    };
    Ok(Some((chunk, next)))
}

/// A full page: there may be more.
fn is_full(rows: usize) -> bool {
    i64::try_from(rows).is_ok_and(|rows| rows >= PAGE)
}
