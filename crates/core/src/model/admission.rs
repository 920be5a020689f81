//! The one decision a correct password leads to: a session starts (perhaps ending others),
//! another device must approve, or the login is refused. Taken under the user's row lock,
//! on counts read under that lock.

use chrono::{DateTime, Duration, Utc};

pub use crate::config::LimitPolicy as Policy;
use crate::model::policy::APPROVAL_REQUEST_WINDOW;

/// The account's state, read under its lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// Active sessions of the account.
    pub active_sessions: i64,
    /// Requests still waiting for a decision.
    pub pending_requests: i64,
    /// Requests made within the last hour, and when the oldest of them was made.
    pub requests_last_hour: i64,
    pub oldest_request_last_hour: Option<DateTime<Utc>>,
    /// When the latest denial was decided.
    pub last_denial: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub policy: Policy,
    pub max_sessions: i64,
    pub max_pending_requests: i64,
    pub max_requests_per_hour: i64,
    /// After a denial, no new request for this long.
    pub denial_cooldown: Duration,
}

impl Limits {
    /// The number of sessions the policy allows (one for `single`).
    pub fn max_sessions(&self) -> i64 {
        match self.policy {
            Policy::Single => 1,
            _ => self.max_sessions,
        }
    }
}

/// What vouches for the device beside the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceTrust {
    /// It signed in to the account before (device cookie), it typed the code mailed for
    /// this login, or nothing more can be asked of it (the check is off, or the account
    /// has no confirmed address to mail a code to).
    Vouched,
    /// Unrecognised, and the account has a confirmed address: a session that no device
    /// approves starts only with the code mailed there.
    NeedsEmailCode,
    /// This very browser (its device cookie) has an active session of the account whose
    /// cookie it lost (closed, or the server's key changed): it comes back, it is not
    /// another device.
    Returning,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A session starts now, after the `evict` least recently used ones end.
    StartSession { evict: i64 },
    /// A session starts now in place of the browser's own earlier session: no approval, no
    /// limit (the browser already held its slot).
    ReplaceOwnSession,
    /// A session would start with no device's approval, from an unrecognised device: the
    /// code mailed to the account must come first.
    ConfirmByEmail,
    /// A logged-in device must approve.
    RequireApproval,
    /// The limit is reached: "Already N sessions active".
    RefuseAtLimit,
    /// Too many requests already wait: try later.
    RefuseTooManyPending,
    /// Too many requests within the hour, or a request was denied a moment ago: no new
    /// request before `retry_at` (prompt fatigue).
    RefuseRequestsFor { retry_at: DateTime<Utc> },
}

pub fn decide(
    standing: Standing,
    device: DeviceTrust,
    limits: Limits,
    now: DateTime<Utc>,
) -> Decision {
    if device == DeviceTrust::Returning {
        return Decision::ReplaceOwnSession;
    }
    match decide_for_account(standing, limits, now) {
        // No device approves it (`approve` with none signed in, or a policy that never
        // asks): the mailbox must.
        Decision::StartSession { .. } if device == DeviceTrust::NeedsEmailCode => {
            Decision::ConfirmByEmail
        }
        decision => decision,
    }
}

/// Whether `decide` weighs the account's sign-in requests (pending, made in the last hour,
/// last denied) for a login with this many active sessions from this device: only where a
/// signed-in device would be asked (`approval_or_refusal`). Elsewhere a login need not read
/// them (two statements fewer; a test checks they change no decision there).
pub fn weighs_requests(active_sessions: i64, device: DeviceTrust, limits: Limits) -> bool {
    device != DeviceTrust::Returning
        && matches!(limits.policy, Policy::Approve)
        && active_sessions > 0
        && active_sessions < limits.max_sessions()
}

fn decide_for_account(standing: Standing, limits: Limits, now: DateTime<Utc>) -> Decision {
    let max = limits.max_sessions();
    let at_limit = standing.active_sessions >= max;
    match limits.policy {
        Policy::Refuse if at_limit => Decision::RefuseAtLimit,
        Policy::Refuse => Decision::StartSession { evict: 0 },
        Policy::EvictOldest | Policy::Single => Decision::StartSession {
            // Room for exactly one more.
            evict: (standing.active_sessions - max + 1).max(0),
        },
        Policy::Approve if at_limit => Decision::RefuseAtLimit,
        Policy::Approve if standing.active_sessions == 0 => Decision::StartSession { evict: 0 },
        Policy::Approve => approval_or_refusal(standing, limits, now),
    }
}

fn approval_or_refusal(standing: Standing, limits: Limits, now: DateTime<Utc>) -> Decision {
    let cooldown_until = standing
        .last_denial
        .map(|denied| denied + limits.denial_cooldown)
        .filter(|until| *until > now);
    let hourly_until = (standing.requests_last_hour >= limits.max_requests_per_hour).then(|| {
        standing
            .oldest_request_last_hour
            .map_or(now + APPROVAL_REQUEST_WINDOW, |oldest| {
                oldest + APPROVAL_REQUEST_WINDOW
            })
    });
    if let Some(retry_at) = cooldown_until.into_iter().chain(hourly_until).max() {
        Decision::RefuseRequestsFor { retry_at }
    } else if standing.pending_requests >= limits.max_pending_requests {
        Decision::RefuseTooManyPending
    } else {
        Decision::RequireApproval
    }
}

/// When the account may be mailed another sign-in code, if not now: `sent` codes within
/// the window, the oldest of them sent at `oldest`.
pub fn next_email_code_at(
    sent: i64,
    oldest: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    use crate::model::policy::{EMAIL_CODE_WINDOW, EMAIL_CODES_PER_WINDOW};
    (sent >= EMAIL_CODES_PER_WINDOW)
        .then(|| oldest.map_or(now + EMAIL_CODE_WINDOW, |oldest| oldest + EMAIL_CODE_WINDOW))
        .filter(|at| *at > now)
}

/// Whether an approved request may become a session: the limit is counted again.
pub fn may_approve(active_sessions: i64, limits: Limits) -> bool {
    active_sessions < limits.max_sessions()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(policy: Policy, max_sessions: i64) -> Limits {
        Limits {
            policy,
            max_sessions,
            max_pending_requests: 3,
            max_requests_per_hour: 10,
            denial_cooldown: Duration::minutes(5),
        }
    }

    fn standing(active_sessions: i64, pending_requests: i64) -> Standing {
        Standing {
            active_sessions,
            pending_requests,
            requests_last_hour: pending_requests,
            oldest_request_last_hour: None,
            last_denial: None,
        }
    }

    fn with(policy: Policy, max: i64, active: i64, pending: i64) -> Decision {
        decide(
            standing(active, pending),
            DeviceTrust::Vouched,
            limits(policy, max),
            Utc::now(),
        )
    }

    #[test]
    fn requests_change_no_decision_where_they_are_not_weighed() {
        let now = Utc::now();
        let policies = [
            Policy::Approve,
            Policy::Refuse,
            Policy::EvictOldest,
            Policy::Single,
        ];
        let devices = [
            DeviceTrust::Vouched,
            DeviceTrust::NeedsEmailCode,
            DeviceTrust::Returning,
        ];
        let mut weighed = 0;
        for policy in policies {
            for max in 1..=3 {
                for active in 0..=4 {
                    for device in devices {
                        let limits = limits(policy, max);
                        let none = Standing {
                            active_sessions: active,
                            pending_requests: 0,
                            requests_last_hour: 0,
                            oldest_request_last_hour: None,
                            last_denial: None,
                        };
                        let many = Standing {
                            pending_requests: 50,
                            requests_last_hour: 50,
                            oldest_request_last_hour: Some(now - Duration::minutes(10)),
                            last_denial: Some(now - Duration::minutes(1)),
                            ..none
                        };
                        if weighs_requests(active, device, limits) {
                            weighed += 1;
                            // Where they are weighed, they do matter.
                            assert_ne!(
                                decide(none, device, limits, now),
                                decide(many, device, limits, now)
                            );
                        } else {
                            assert_eq!(
                                decide(none, device, limits, now),
                                decide(many, device, limits, now),
                                "{policy:?} max {max} active {active} {device:?}"
                            );
                        }
                    }
                }
            }
        }
        assert!(weighed > 0);
    }

    fn from_unrecognised(policy: Policy, max: i64, active: i64) -> Decision {
        decide(
            standing(active, 0),
            DeviceTrust::NeedsEmailCode,
            limits(policy, max),
            Utc::now(),
        )
    }

    #[test]
    fn an_unrecognised_device_that_no_device_approves_needs_the_mailed_code() {
        assert_eq!(
            from_unrecognised(Policy::Approve, 2, 0),
            Decision::ConfirmByEmail
        );
        // A signed-in device is asked instead, and the limit still refuses.
        assert_eq!(
            from_unrecognised(Policy::Approve, 2, 1),
            Decision::RequireApproval
        );
        assert_eq!(
            from_unrecognised(Policy::Approve, 2, 2),
            Decision::RefuseAtLimit
        );
        // Policies that never ask a device: the mailbox is asked whenever one would start.
        assert_eq!(
            from_unrecognised(Policy::Refuse, 2, 1),
            Decision::ConfirmByEmail
        );
        assert_eq!(
            from_unrecognised(Policy::Refuse, 2, 2),
            Decision::RefuseAtLimit
        );
        assert_eq!(
            from_unrecognised(Policy::Single, 1, 1),
            Decision::ConfirmByEmail
        );
    }

    #[test]
    fn a_browser_coming_back_to_its_own_session_is_neither_asked_nor_refused() {
        for policy in [
            Policy::Approve,
            Policy::Refuse,
            Policy::EvictOldest,
            Policy::Single,
        ] {
            for active in [1, 2] {
                assert_eq!(
                    decide(
                        standing(active, 3),
                        DeviceTrust::Returning,
                        limits(policy, 2),
                        Utc::now()
                    ),
                    Decision::ReplaceOwnSession,
                    "{policy:?} with {active} active"
                );
            }
        }
    }

    #[test]
    fn five_codes_a_day_are_mailed_at_most() {
        let now = Utc::now();
        assert_eq!(
            next_email_code_at(4, Some(now - Duration::hours(1)), now),
            None
        );
        assert_eq!(
            next_email_code_at(5, Some(now - Duration::hours(20)), now),
            Some(now + Duration::hours(4))
        );
        assert_eq!(
            next_email_code_at(5, Some(now - Duration::hours(25)), now),
            None
        );
    }

    #[test]
    fn approve_lets_the_first_device_in_asks_for_the_second_and_refuses_the_third() {
        assert_eq!(
            with(Policy::Approve, 2, 0, 0),
            Decision::StartSession { evict: 0 }
        );
        assert_eq!(with(Policy::Approve, 2, 1, 0), Decision::RequireApproval);
        assert_eq!(with(Policy::Approve, 2, 2, 0), Decision::RefuseAtLimit);
        assert_eq!(
            with(Policy::Approve, 2, 1, 3),
            Decision::RefuseTooManyPending
        );
        assert_eq!(with(Policy::Approve, 2, 2, 3), Decision::RefuseAtLimit);
    }

    #[test]
    fn refuse_never_asks_and_evicting_policies_always_let_in() {
        assert_eq!(
            with(Policy::Refuse, 2, 1, 0),
            Decision::StartSession { evict: 0 }
        );
        assert_eq!(with(Policy::Refuse, 2, 2, 0), Decision::RefuseAtLimit);
        assert_eq!(
            with(Policy::EvictOldest, 5, 4, 0),
            Decision::StartSession { evict: 0 }
        );
        assert_eq!(
            with(Policy::EvictOldest, 5, 5, 0),
            Decision::StartSession { evict: 1 }
        );
        assert_eq!(
            with(Policy::Single, 5, 0, 0),
            Decision::StartSession { evict: 0 }
        );
        assert_eq!(
            with(Policy::Single, 5, 1, 0),
            Decision::StartSession { evict: 1 }
        );
        assert!(may_approve(1, limits(Policy::Approve, 2)));
        assert!(!may_approve(1, limits(Policy::Single, 2)));
    }

    #[test]
    fn requests_are_capped_per_hour_and_wait_after_a_denial() {
        let now = Utc::now();
        let mut busy = standing(1, 0);
        busy.requests_last_hour = 10;
        busy.oldest_request_last_hour = Some(now - Duration::minutes(50));
        assert_eq!(
            decide(busy, DeviceTrust::Vouched, limits(Policy::Approve, 2), now),
            Decision::RefuseRequestsFor {
                retry_at: now + Duration::minutes(10)
            }
        );
        let mut denied = standing(1, 0);
        denied.last_denial = Some(now - Duration::minutes(1));
        assert_eq!(
            decide(
                denied,
                DeviceTrust::Vouched,
                limits(Policy::Approve, 2),
                now
            ),
            Decision::RefuseRequestsFor {
                retry_at: now + Duration::minutes(4)
            }
        );
        denied.last_denial = Some(now - Duration::minutes(6));
        assert_eq!(
            decide(
                denied,
                DeviceTrust::Vouched,
                limits(Policy::Approve, 2),
                now
            ),
            Decision::RequireApproval
        );
        assert_eq!(Policy::parse("evict_oldest"), Some(Policy::EvictOldest));
        assert_eq!(Policy::parse("nope"), None);
    }
}
