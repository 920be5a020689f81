//! Stored rows as the API shows them (the types of `crates/shared`).

use chrono::{DateTime, Utc};
use shared::{ActivityEntry, PendingApproval, SessionHistoryEntry, SessionInfo, User};
use uuid::Uuid;

use crate::config::Settings;
use crate::model::session::Lifetimes;
use crate::storage::activity::EntryRow;
use crate::storage::approvals::ApprovalRow;
use crate::storage::sessions::SessionRow;
use crate::storage::users::UserRow;

pub fn user(row: &UserRow, settings: &Settings) -> User {
    User {
        id: row.id,
        email: row.email.clone(),
        name: row.name.clone(),
        created_at: row.created_at,
        email_verified: row.email_verified_at.is_some(),
        password_only: row
            .factors(settings.checks_new_devices_by_email())
            .password_only(),
    }
}

/// An active session; `current` is the session of the request.
pub fn session(row: &SessionRow, current: Option<Uuid>, lifetimes: Lifetimes) -> SessionInfo {
    SessionInfo {
        id: row.id,
        device: row.device.clone(),
        os: row.os.clone(),
        browser: row.browser.clone(),
        ip: row.ip.clone(),
        country: row.country.clone(),
        created_at: row.created_at,
        last_seen_at: row.last_seen_at,
        idle_expires_at: lifetimes
            .idle_deadline(row.last_seen_at)
            .min(row.expires_at),
        expires_at: row.expires_at,
        current: current == Some(row.id),
    }
}

pub fn history_entry(
    row: &SessionRow,
    current: Uuid,
    now: DateTime<Utc>,
    lifetimes: Lifetimes,
) -> SessionHistoryEntry {
    SessionHistoryEntry {
        id: row.id,
        device: row.device.clone(),
        os: row.os.clone(),
        browser: row.browser.clone(),
        user_agent: row.user_agent.clone(),
        ip: row.ip.clone(),
        country: row.country.clone(),
        created_at: row.created_at,
        last_seen_at: row.last_seen_at,
        ended_at: row.ended_at,
        end_reason: row.end_reason.map(|reason| reason.as_str().to_owned()),
        active: lifetimes.is_active(row.end_reason, row.last_seen_at, row.expires_at, now),
        current: row.id == current,
    }
}

pub fn pending_approval(row: &ApprovalRow, max_attempts: i32) -> PendingApproval {
    PendingApproval {
        id: row.id,
        device: row.device.clone(),
        os: row.os.clone(),
        browser: row.browser.clone(),
        ip: row.ip.clone(),
        country: row.country.clone(),
        requested_at: row.created_at,
        expires_at: row.expires_at,
        tries_left: (max_attempts - row.failed_attempts).max(0),
    }
}

pub fn activity_entry(row: EntryRow) -> ActivityEntry {
    ActivityEntry {
        id: row.id,
        kind: row.kind,
        session_id: row.session_id,
        ip: row.ip,
        device: row.device,
        detail: row.detail,
        created_at: row.created_at,
    }
}
