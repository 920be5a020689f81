//! A session's life: how long it may last, the one predicate for "still active", and why
//! it ended.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::text_enum;

text_enum! {
    /// Why a session ended, as stored in `sessions.end_reason` and sent to its sockets.
    pub enum EndReason {
        Logout => "logout",
        Revoked => "revoked",
        IdleTimeout => "idle_timeout",
        LifetimeExceeded => "lifetime_exceeded",
        PasswordChanged => "password_changed",
        /// A newer login took its place (limit policies `evict_oldest` and `single`).
        Replaced => "replaced",
        /// An approved request whose device never completed the login.
        NotCompleted => "not_completed",
        /// Ended through the "this wasn't me" link of a security mail.
        AccountSecured => "account_secured",
        /// The same browser signed in again (its cookie was gone: closed, or a restart):
        /// the new session takes this one's place.
        ReplacedBySameBrowser => "replaced_by_same_browser",
        /// A server started with a one-off cookie key (no `SESSION_SECRET`): no cookie made
        /// before can be read any more.
        KeyChanged => "key_changed",
        /// The account's address changed: its other sessions end (takeover by address).
        EmailChanged => "email_changed",
        /// The account was deleted.
        AccountDeleted => "account_deleted",
    }
}

impl EndReason {
    /// The reasons that mean "expired" rather than "ended by someone".
    pub fn is_expiry(self) -> bool {
        matches!(self, Self::IdleTimeout | Self::LifetimeExceeded)
    }
}

/// A session younger than the freshness period cannot act against an older one: end it,
/// sign out the others, or change the password (a session approved by mistake must not be
/// able to take the account over). `None` when allowed; otherwise when it will be, by the
/// same clock as `now`.
pub fn too_new(
    created_at: DateTime<Utc>,
    older_session_active: bool,
    fresh_for: Duration,
    now: DateTime<Utc>,
) -> Option<TooNew> {
    let until = created_at + chrono_duration(fresh_for);
    (older_session_active && until > now).then(|| TooNew {
        until,
        retry_in_seconds: (until - now).num_seconds().max(1),
    })
}

/// When a session too new to act may: at `until`, `retry_in_seconds` from now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooNew {
    pub until: DateTime<Utc>,
    pub retry_in_seconds: i64,
}

/// How long sessions last: `idle` without use, `absolute` whatever happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub idle: Duration,
    pub absolute: Duration,
}

/// An open session whose time is up: why, and the moment it really ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lapse {
    pub reason: EndReason,
    pub at: DateTime<Utc>,
}

pub fn chrono_duration(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

impl Lifetimes {
    /// When a session started now must end at the latest.
    pub fn expires_at(&self, created_at: DateTime<Utc>) -> DateTime<Utc> {
        created_at + chrono_duration(self.absolute)
    }

    /// When a session last used at `last_seen_at` ends if nobody uses it.
    pub fn idle_deadline(&self, last_seen_at: DateTime<Utc>) -> DateTime<Utc> {
        last_seen_at + chrono_duration(self.idle)
    }

    /// The one activity predicate: why an open session must end at `now`, if it must.
    /// Whichever deadline came first is why it ended. (The same rule in SQL, for queries
    /// over many sessions, is `storage::sessions::active` and `end_lapsed`.)
    pub fn lapse(
        &self,
        last_seen_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<Lapse> {
        let idle_end = self.idle_deadline(last_seen_at);
        let lapse = if expires_at <= idle_end {
            Lapse {
                reason: EndReason::LifetimeExceeded,
                at: expires_at,
            }
        } else {
            Lapse {
                reason: EndReason::IdleTimeout,
                at: idle_end,
            }
        };
        (lapse.at <= now).then_some(lapse)
    }

    /// Active: not ended and within both deadlines.
    pub fn is_active(
        &self,
        end_reason: Option<EndReason>,
        last_seen_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> bool {
        end_reason.is_none() && self.lapse(last_seen_at, expires_at, now).is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lifetimes() -> Lifetimes {
        Lifetimes {
            idle: Duration::from_secs(3600),
            absolute: Duration::from_secs(7 * 24 * 3600),
        }
    }

    #[test]
    fn an_unused_session_lapses_at_its_idle_deadline() {
        let start = Utc::now();
        let expires = lifetimes().expires_at(start);
        let minute = chrono::Duration::minutes(1);
        assert_eq!(lifetimes().lapse(start, expires, start + minute * 59), None);
        assert_eq!(
            lifetimes().lapse(start, expires, start + minute * 61),
            Some(Lapse {
                reason: EndReason::IdleTimeout,
                at: start + minute * 60
            })
        );
    }

    #[test]
    fn a_used_session_lapses_at_its_absolute_lifetime() {
        let start = Utc::now();
        let expires = lifetimes().expires_at(start);
        let last_seen = expires - chrono::Duration::minutes(5);
        let lapse = lifetimes().lapse(last_seen, expires, expires + chrono::Duration::seconds(1));
        assert_eq!(
            lapse,
            Some(Lapse {
                reason: EndReason::LifetimeExceeded,
                at: expires
            })
        );
        assert!(!lifetimes().is_active(None, last_seen, expires, expires));
        assert!(!lifetimes().is_active(Some(EndReason::Logout), start, expires, start));
        assert!(lifetimes().is_active(None, start, expires, start));
    }

    #[test]
    fn a_young_session_may_not_act_against_an_older_one_until_it_has_aged() {
        let now = Utc::now();
        let day = Duration::from_secs(24 * 3600);
        let young = now - chrono::Duration::hours(1);
        assert_eq!(
            too_new(young, true, day, now),
            Some(TooNew {
                until: young + chrono::Duration::hours(24),
                retry_in_seconds: 23 * 3600
            })
        );
        assert_eq!(too_new(young, false, day, now), None, "its only session");
        let old = now - chrono::Duration::hours(25);
        assert_eq!(too_new(old, true, day, now), None);
        let almost = now - chrono::Duration::hours(24) + chrono::Duration::milliseconds(10);
        assert_eq!(
            too_new(almost, true, day, now).map(|too_new| too_new.retry_in_seconds),
            Some(1),
            "never told to retry at once"
        );
    }

    #[test]
    fn end_reasons_round_trip_and_say_which_are_expiries() {
        assert!(EndReason::IdleTimeout.is_expiry() && !EndReason::Revoked.is_expiry());
        for reason in EndReason::ALL {
            assert_eq!(EndReason::parse(reason.as_str()), Some(*reason));
        }
    }
}
