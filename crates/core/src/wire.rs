//! Stored rows as the API shows them (the types of `crates/shared`), and the server's
//! enums as their wire twins.

use chrono::{DateTime, Utc};
use shared::{ActivityEntry, PendingApproval, SessionHistoryEntry, SessionInfo, User};
use uuid::Uuid;

use crate::config::{LimitPolicy, Settings};
use crate::model::activity::ActivityKind;
use crate::model::approval::ApprovalStatus;
use crate::model::second_factor::ProofMethod;
use crate::model::session::{EndReason, Lifetimes};
use crate::storage::activity::EntryRow;
use crate::storage::approvals::ApprovalRow;
use crate::storage::sessions::{SessionRow, SessionWithUser};
use crate::storage::users::UserRow;

/// `From` a server enum to its twin in `shared`, variant for variant: the match is
/// exhaustive, so a variant added on the server and not on the wire does not compile (and
/// `stored_names_are_the_names_on_the_wire` checks that both spell it alike).
macro_rules! same_on_the_wire {
    ($server:ident => $wire:path { $($variant:ident,)+ }) => {
        impl From<$server> for $wire {
            fn from(value: $server) -> Self {
                match value {
                    $($server::$variant => Self::$variant,)+
                }
            }
        }
    };
}

same_on_the_wire!(EndReason => shared::EndReason {
    Logout,
    Revoked,
    IdleTimeout,
    LifetimeExceeded,
    PasswordChanged,
    Replaced,
    NotCompleted,
    AccountSecured,
    ReplacedBySameBrowser,
    KeyChanged,
    EmailChanged,
    AccountDeleted,
});

same_on_the_wire!(ActivityKind => shared::ActivityKind {
    Signup,
    Login,
    LoginFailed,
    Logout,
    SessionRevoked,
    SessionExpired,
    SessionReplaced,
    ApprovalRequested,
    ApprovalGranted,
    ApprovalDenied,
    ApprovalCancelled,
    ApprovalCodeRejected,
    ApprovalLocked,
    ApprovalExpired,
    PasswordChanged,
    ProfileUpdated,
    NewDeviceLogin,
    NewCountryLogin,
    SuspiciousLoginDenied,
    LoginRefused,
    EmailVerified,
    PasswordReset,
    EmailCodeSent,
    EmailCodeRejected,
    AccountSecured,
    EmailChangeRequested,
    EmailChanged,
    AccountUnlocked,
    SecondFactorEnabled,
    SecondFactorDisabled,
    RecoveryCodesGenerated,
    RecoveryCodeUsed,
    SecondFactorRejected,
    Reauthenticated,
    PasskeyAdded,
    PasskeyRemoved,
});

same_on_the_wire!(ProofMethod => shared::ProofMethod {
    Password,
    Passkey,
    Totp,
    EmailCode,
    RecoveryCode,
});

same_on_the_wire!(ApprovalStatus => shared::ApprovalStatus {
    Pending,
    Approved,
    Completed,
    Denied,
    Expired,
    Locked,
    SessionLimit,
    Cancelled,
});

same_on_the_wire!(LimitPolicy => shared::LimitPolicy {
    Approve,
    Refuse,
    EvictOldest,
    Single,
});

pub fn user(row: &UserRow, settings: &Settings) -> User {
    user_from(row.clone(), settings)
}

/// A checked session's user and the session itself (marked current), from rows the caller
/// gives up: their strings move instead of being copied (`/api/auth/me`, the hottest
/// response, and the session probe).
pub fn signed_in(
    rows: SessionWithUser,
    settings: &Settings,
    lifetimes: Lifetimes,
) -> (User, SessionInfo) {
    let SessionWithUser { session, user } = rows;
    let current = Some(session.id);
    (
        user_from(user, settings),
        session_from(session, current, lifetimes),
    )
}

fn user_from(row: UserRow, settings: &Settings) -> User {
    let password_only = row
        .factors(settings.mail.checks_new_devices_by_email())
        .password_only();
    User {
        id: row.id,
        email: row.email,
        name: row.name,
        created_at: row.created_at,
        email_verified: row.email_verified_at.is_some(),
        password_only,
        totp_enabled: row.totp_enabled_at.is_some(),
    }
}

pub fn passkey(row: &crate::storage::passkeys::PasskeyRow) -> shared::Passkey {
    shared::Passkey {
        id: row.id,
        name: row.name.clone(),
        created_at: row.created_at,
        last_used_at: row.last_used_at,
    }
}

/// An active session; `current` is the session of the request.
pub fn session(row: &SessionRow, current: Option<Uuid>, lifetimes: Lifetimes) -> SessionInfo {
    session_from(row.clone(), current, lifetimes)
}

fn session_from(row: SessionRow, current: Option<Uuid>, lifetimes: Lifetimes) -> SessionInfo {
    SessionInfo {
        id: row.id,
        device: row.device,
        os: row.os,
        browser: row.browser,
        ip: row.ip,
        country: row.country,
        created_at: row.created_at,
        last_seen_at: row.last_seen_at,
        idle_expires_at: lifetimes
            .idle_deadline(row.last_seen_at)
            .min(row.expires_at),
        expires_at: row.expires_at,
        current: current == Some(row.id),
        proved_at: row.proved_at,
        proof_method: row.proof_method.into(),
    }
}

pub fn history_entry(
    row: &SessionRow,
    current: Option<Uuid>,
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
        end_reason: row.end_reason.map(Into::into),
        active: lifetimes.is_active(row.end_reason, row.last_seen_at, row.expires_at, now),
        current: current == Some(row.id),
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
        // The column's constraint admits only known kinds; anything else shows as unknown.
        kind: ActivityKind::parse(&row.kind).map_or(shared::ActivityKind::Unknown, Into::into),
        session_id: row.session_id,
        ip: row.ip,
        device: row.device,
        detail: row.detail,
        created_at: row.created_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_are_the_names_on_the_wire() {
        for reason in EndReason::ALL {
            assert_eq!(shared::EndReason::from(*reason), reason.as_str());
        }
        for kind in ActivityKind::ALL {
            assert_eq!(shared::ActivityKind::from(*kind), kind.as_str());
        }
        for status in ApprovalStatus::ALL {
            assert_eq!(shared::ApprovalStatus::from(*status), status.as_str());
        }
        for method in ProofMethod::ALL {
            assert_eq!(shared::ProofMethod::from(*method), method.as_str());
        }
        for policy in [
            LimitPolicy::Approve,
            LimitPolicy::Refuse,
            LimitPolicy::EvictOldest,
            LimitPolicy::Single,
        ] {
            assert_eq!(shared::LimitPolicy::from(policy), policy.as_str());
            assert_eq!(
                LimitPolicy::parse(shared::LimitPolicy::from(policy).as_str()),
                Some(policy)
            );
        }
    }

    #[test]
    fn every_name_the_wire_knows_is_one_the_server_stores() {
        let server: Vec<&str> = EndReason::ALL
            .iter()
            .map(|reason| reason.as_str())
            .collect();
        let wire: Vec<&str> = shared::EndReason::KNOWN
            .iter()
            .map(|reason| reason.as_str())
            .collect();
        assert_eq!(server, wire);
        let server: Vec<&str> = ActivityKind::ALL.iter().map(|kind| kind.as_str()).collect();
        let wire: Vec<&str> = shared::ActivityKind::KNOWN
            .iter()
            .map(|kind| kind.as_str())
            .collect();
        assert_eq!(server, wire);
        let server: Vec<&str> = ApprovalStatus::ALL
            .iter()
            .map(|status| status.as_str())
            .collect();
        let wire: Vec<&str> = shared::ApprovalStatus::KNOWN
            .iter()
            .map(|status| status.as_str())
            .collect();
        assert_eq!(server, wire);
    }
}
