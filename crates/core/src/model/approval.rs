//! A login from a new device waiting for the code to be typed on a logged-in one.
//!
//! ```text
//! pending ─approve─▶ approved ─complete─▶ completed
//!    │                  │ expire (not completed in time) / cancel (password change)
//!    │ deny / lock / expire / cancel / refuse at limit
//!    ▼                  ▼
//! denied | locked | expired | cancelled | session_limit
//! ```
//! Every change of status goes through [`ApprovalStatus::next`].
//!
//! Who types the code is the request's [`ApprovalChannel`]: a device already signed in
//! (the code is shown on the new device), or, when no device can approve, the new device
//! itself (the code is mailed to the account's confirmed address). A mailed code is
//! approved and completed in one step.

use shared::ErrorCode;

use super::text_enum;

text_enum! {
    /// As stored in `login_approvals.channel`.
    pub enum ApprovalChannel {
        /// The new device shows the code; a signed-in device types it.
        Device => "device",
        /// The code is mailed; the new device types it.
        Email => "email",
    }
}

text_enum! {
    /// As stored in `login_approvals.status`; also the `outcome` the devices are told.
    pub enum ApprovalStatus {
        Pending => "pending",
        Approved => "approved",
        Completed => "completed",
        Denied => "denied",
        Expired => "expired",
        /// Too many wrong codes were typed.
        Locked => "locked",
        /// The right code came, but meanwhile the account reached its session limit.
        SessionLimit => "session_limit",
        /// The new device gave up waiting.
        Cancelled => "cancelled",
    }
}

/// What someone does to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The right code, with room under the limit.
    Approve,
    /// The right code, but the limit is reached.
    RefuseAtLimit,
    Deny,
    /// A wrong code with tries left.
    RejectCode,
    /// A wrong code with no tries left.
    Lock,
    Expire,
    /// The waiting device withdraws.
    Cancel,
    /// The waiting device trades its pending token for a session.
    Complete,
}

/// Why an action is not allowed in the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NotYetApproved,
    AlreadyApproved,
    Used,
    Denied,
    Locked,
    SessionLimit,
    Cancelled,
    Expired,
}

impl ApprovalStatus {
    /// The one transition function: the status after `action`, or why it is refused.
    pub fn next(self, action: Action) -> Result<Self, Refusal> {
        use Action as A;
        use ApprovalStatus as S;
        match (self, action) {
            (S::Pending, A::Approve) => Ok(S::Approved),
            (S::Pending, A::RefuseAtLimit) => Ok(S::SessionLimit),
            (S::Pending, A::Deny) => Ok(S::Denied),
            (S::Pending, A::RejectCode) => Ok(S::Pending),
            (S::Pending, A::Lock) => Ok(S::Locked),
            (S::Pending, A::Expire) => Ok(S::Expired),
            (S::Pending, A::Cancel) => Ok(S::Cancelled),
            (S::Pending, A::Complete) => Err(Refusal::NotYetApproved),
            (S::Approved, A::Complete) => Ok(S::Completed),
            // Approved but never completed: its reserved session ends, its slot frees up.
            (S::Approved, A::Expire) => Ok(S::Expired),
            // A password change or "sign out all others" also ends requests in flight.
            (S::Approved, A::Cancel) => Ok(S::Cancelled),
            (S::Completed, A::Complete) => Err(Refusal::Used),
            (closed, _) => Err(Refusal::closed(closed)),
        }
    }

    /// Still waiting for a decision.
    pub fn is_pending(self) -> bool {
        self == Self::Pending
    }

    /// Nothing more can happen to it.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Pending | Self::Approved)
    }
}

impl Refusal {
    fn closed(status: ApprovalStatus) -> Self {
        match status {
            ApprovalStatus::Approved | ApprovalStatus::Completed => Self::AlreadyApproved,
            ApprovalStatus::Denied => Self::Denied,
            ApprovalStatus::Locked => Self::Locked,
            ApprovalStatus::SessionLimit => Self::SessionLimit,
            ApprovalStatus::Cancelled => Self::Cancelled,
            ApprovalStatus::Expired | ApprovalStatus::Pending => Self::Expired,
        }
    }

    pub fn code(self) -> ErrorCode {
        match self {
            Self::NotYetApproved => ErrorCode::ApprovalPending,
            Self::AlreadyApproved => ErrorCode::ApprovalAlreadyApproved,
            Self::Used => ErrorCode::ApprovalUsed,
            Self::Denied => ErrorCode::ApprovalDenied,
            Self::Locked => ErrorCode::ApprovalLocked,
            Self::SessionLimit => ErrorCode::ApprovalSessionLimit,
            Self::Cancelled => ErrorCode::ApprovalCancelled,
            Self::Expired => ErrorCode::ApprovalExpired,
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::NotYetApproved => "This login request is not approved yet",
            Self::AlreadyApproved => "This login request was already approved",
            Self::Used => "This login request was already used",
            Self::Denied => "This login request was denied",
            Self::Locked => "Too many wrong codes: this login request was refused",
            Self::SessionLimit => "This login request was refused: too many sessions",
            Self::Cancelled => "This login request was cancelled",
            Self::Expired => "This login request has expired",
        }
    }

    /// Not yet decided (409) rather than over for good (410).
    pub fn is_premature(self) -> bool {
        self == Self::NotYetApproved
    }
}

#[cfg(test)]
mod tests {
    use super::{Action, ApprovalStatus as S, Refusal};

    #[test]
    fn a_pending_request_can_be_decided_once() {
        assert_eq!(S::Pending.next(Action::Approve), Ok(S::Approved));
        assert_eq!(S::Pending.next(Action::Deny), Ok(S::Denied));
        assert_eq!(S::Pending.next(Action::RejectCode), Ok(S::Pending));
        assert_eq!(S::Pending.next(Action::Lock), Ok(S::Locked));
        assert_eq!(S::Pending.next(Action::Expire), Ok(S::Expired));
        assert_eq!(S::Pending.next(Action::Cancel), Ok(S::Cancelled));
        assert_eq!(S::Pending.next(Action::RefuseAtLimit), Ok(S::SessionLimit));
        for decided in [
            S::Denied,
            S::Locked,
            S::Expired,
            S::Cancelled,
            S::SessionLimit,
        ] {
            for action in [
                Action::Approve,
                Action::Deny,
                Action::Cancel,
                Action::Complete,
            ] {
                assert!(decided.next(action).is_err(), "{decided} then {action:?}");
            }
        }
    }

    #[test]
    fn only_an_approved_request_completes_and_only_once() {
        assert_eq!(S::Approved.next(Action::Complete), Ok(S::Completed));
        assert_eq!(
            S::Pending.next(Action::Complete),
            Err(Refusal::NotYetApproved)
        );
        assert_eq!(S::Completed.next(Action::Complete), Err(Refusal::Used));
        assert_eq!(
            S::Approved.next(Action::Approve),
            Err(Refusal::AlreadyApproved)
        );
        assert_eq!(S::Approved.next(Action::Cancel), Ok(S::Cancelled));
        assert_eq!(S::Approved.next(Action::Expire), Ok(S::Expired));
        assert_eq!(
            S::Approved.next(Action::Deny),
            Err(Refusal::AlreadyApproved)
        );
        assert_eq!(S::Denied.next(Action::Complete), Err(Refusal::Denied));
    }

    #[test]
    fn refusals_have_stable_codes() {
        assert_eq!(Refusal::Locked.code(), "approval_locked");
        assert_eq!(Refusal::Used.code(), "approval_used");
        assert!(Refusal::NotYetApproved.is_premature());
        assert!(!Refusal::Expired.is_premature());
        assert!(S::Denied.is_final() && !S::Approved.is_final() && S::Pending.is_pending());
    }
}
