//! The one error type of the API.
//!
//! Policy:
//! * Every error response is `{"error": "<sentence for people>", "code": "<stable machine code>"}`
//!   (the HTTP mapping is in `http::error`; sockets send the same envelope).
//! * Client mistakes are 4xx with a specific code; a missing row is 404 `not_found`.
//! * Only an unreachable database (pool timeout, lost connection) or an overloaded hashing
//!   queue is 503 `service_unavailable`.
//! * Anything unexpected is 500 `internal`. Outages and internal errors keep their cause as
//!   `source()`; the whole chain is logged once, where the response is built, never sent.

use std::error::Error as StdError;

use chrono::{DateTime, Utc};

use shared::rules::Problem;
use shared::{ErrorBody, ErrorCode};

use crate::model::approval::Refusal;

pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Validation(String),
    #[error("Request body is too large")]
    PayloadTooLarge,
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    #[error("Not logged in")]
    Unauthenticated,
    #[error("Invalid email or password")]
    InvalidCredentials,
    #[error("Session expired")]
    SessionExpired,
    #[error("Invalid session")]
    InvalidSession,
    /// A newer login took this session's place (policies `evict_oldest` and `single`).
    #[error(
        "You were signed out because your account signed in on {by} at {} UTC",
        at.format("%Y-%m-%d %H:%M")
    )]
    SessionReplaced { by: String, at: DateTime<Utc> },
    /// A session younger than `FRESH_SESSION_SECS` acting against an older one; both times
    /// by the app's clock (`model::session::too_new`).
    #[error(
        "This session is too new to end older sessions or change the password; it may from {} UTC",
        until.format("%Y-%m-%d %H:%M")
    )]
    SessionTooNew {
        until: DateTime<Utc>,
        retry_in_seconds: i64,
    },
    #[error("Current password is incorrect")]
    WrongPassword,
    #[error("Origin not allowed")]
    ForbiddenOrigin,
    #[error("A valid API key is needed: Authorization: Bearer <key>")]
    InvalidApiKey,
    #[error("This API key may only read; changes need a key with the write scope")]
    InsufficientScope,
    #[error("{0}")]
    NotFound(&'static str),
    /// The path exists, not with this method; `allow` lists the ones it has ("GET, DELETE").
    #[error("Method not allowed here; allowed: {allow}")]
    MethodNotAllowed { allow: String },
    #[error("An account with this email already exists")]
    EmailTaken,
    #[error("Already {0} sessions active")]
    SessionLimit(i64),
    #[error("Too many failed sign-in attempts; try again in {retry_in_seconds} seconds")]
    TooManyAttempts { retry_in_seconds: i64 },
    #[error(
        "Too many accounts were created from this address; try again in {retry_in_seconds} seconds"
    )]
    TooManySignups { retry_in_seconds: i64 },
    #[error("This device has too many open connections")]
    TooManySockets,
    /// A password that is easy to guess (zxcvbn score below 3); the sentence says why.
    #[error("{0}")]
    WeakPassword(String),
    #[error("Too many logins are waiting for approval; try again later")]
    TooManyPendingApprovals,
    /// Prompt fatigue: too many requests within the hour, or one was denied a moment ago.
    #[error("Too many sign-in requests for this account; try again in {retry_in_seconds} seconds")]
    TooManyApprovalRequests { retry_in_seconds: i64 },
    /// Acting on a login request whose state does not allow it.
    #[error("{}", .0.message())]
    Approval(Refusal),
    #[error("Wrong code, {}", shared::rules::tries_left(*tries_left))]
    WrongCode { tries_left: i32 },
    /// A mailed link that is unknown, used, expired, or sent to an address no longer the
    /// account's (all alike: a link's history is nobody's business).
    #[error("This link is invalid, was already used or has expired; ask for a new one")]
    InvalidLink,
    #[error("This address is already confirmed")]
    AlreadyVerified,
    #[error("Too many mails were asked for; try again in {retry_in_seconds} seconds")]
    TooManyMailRequests { retry_in_seconds: i64 },
    /// The account was mailed as many sign-in codes as a day allows.
    #[error(
        "Too many sign-in codes were mailed for this account; try again in {retry_in_seconds} seconds, or reset your password"
    )]
    TooManySignInCodes { retry_in_seconds: i64 },
    #[error("Too many data exports were asked for; try again in {retry_in_seconds} seconds")]
    TooManyExports { retry_in_seconds: i64 },
    /// Sudo mode: the session's last proof is older than `REAUTH_WINDOW_SECS`.
    #[error("Confirm it is you: enter your password or an authenticator code again")]
    ReauthenticationRequired,
    /// A wrong (or already used) authenticator or recovery code.
    #[error("Wrong code")]
    InvalidCode,
    #[error("This sign-in has expired or was already finished; sign in again")]
    ChallengeExpired,
    #[error("The authenticator app is already on")]
    SecondFactorEnabled,
    #[error("The authenticator app is not on")]
    SecondFactorNotEnabled,
    #[error("This account has {0} passkeys, as many as it may; remove one first")]
    PasskeyLimit(usize),
    #[error("This passkey request is unknown, was already used or has expired; start again")]
    InvalidChallenge,
    /// The authenticator's answer did not verify; the sentence says which part, never why
    /// in cryptographic detail.
    #[error("{0}")]
    PasskeyRejected(&'static str),
    #[error("Service temporarily unavailable")]
    Unavailable(#[source] BoxError),
    #[error("Internal error")]
    Internal(#[source] BoxError),
}

impl Error {
    /// The stable machine code of the envelope.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::BadRequest(_) => ErrorCode::BadRequest,
            Self::Validation(_) => ErrorCode::Validation,
            Self::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            Self::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            Self::Unauthenticated => ErrorCode::Unauthenticated,
            Self::InvalidCredentials => ErrorCode::InvalidCredentials,
            Self::SessionExpired => ErrorCode::SessionExpired,
            Self::InvalidSession => ErrorCode::InvalidSession,
            Self::SessionReplaced { .. } => ErrorCode::SessionReplaced,
            Self::SessionTooNew { .. } => ErrorCode::SessionTooNew,
            Self::WrongPassword => ErrorCode::WrongPassword,
            Self::ForbiddenOrigin => ErrorCode::ForbiddenOrigin,
            Self::InvalidApiKey => ErrorCode::InvalidApiKey,
            Self::InsufficientScope => ErrorCode::InsufficientScope,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::MethodNotAllowed { .. } => ErrorCode::MethodNotAllowed,
            Self::EmailTaken => ErrorCode::EmailTaken,
            Self::SessionLimit(_) => ErrorCode::SessionLimit,
            Self::TooManyPendingApprovals => ErrorCode::TooManyPendingApprovals,
            Self::TooManyApprovalRequests { .. } => ErrorCode::TooManyApprovalRequests,
            Self::TooManyAttempts { .. } => ErrorCode::TooManyAttempts,
            Self::TooManySignups { .. } => ErrorCode::TooManySignups,
            Self::TooManySockets => ErrorCode::TooManySockets,
            Self::WeakPassword(_) => ErrorCode::WeakPassword,
            Self::Approval(refusal) => refusal.code(),
            Self::WrongCode { .. } => ErrorCode::WrongCode,
            Self::InvalidLink => ErrorCode::InvalidLink,
            Self::AlreadyVerified => ErrorCode::AlreadyVerified,
            Self::TooManyMailRequests { .. } => ErrorCode::TooManyMailRequests,
            Self::TooManySignInCodes { .. } => ErrorCode::TooManySignInCodes,
            Self::TooManyExports { .. } => ErrorCode::TooManyExports,
            Self::ReauthenticationRequired => ErrorCode::ReauthenticationRequired,
            Self::InvalidCode => ErrorCode::InvalidCode,
            Self::ChallengeExpired => ErrorCode::ChallengeExpired,
            Self::SecondFactorEnabled => ErrorCode::SecondFactorEnabled,
            Self::SecondFactorNotEnabled => ErrorCode::SecondFactorNotEnabled,
            Self::PasskeyLimit(_) => ErrorCode::PasskeyLimit,
            Self::InvalidChallenge => ErrorCode::InvalidChallenge,
            Self::PasskeyRejected(_) => ErrorCode::PasskeyRejected,
            Self::Unavailable(_) => ErrorCode::ServiceUnavailable,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.to_string(),
            code: self.code(),
        }
    }

    /// True for errors whose cause belongs in the log (outages and bugs).
    pub fn is_server_side(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Internal(_))
    }

    /// "Internal error: building the session cookie: …": the error and every source below it.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut source = self.source();
        while let Some(cause) = source {
            // Many errors print their source in their own message: say each cause once.
            let said = cause.to_string();
            if !text.contains(&said) {
                text.push_str(": ");
                text.push_str(&said);
            }
            source = cause.source();
        }
        text
    }

    /// Seconds until a retry may succeed, for `Retry-After`.
    pub fn retry_after(&self) -> Option<i64> {
        match self {
            Self::Unavailable(_) => Some(5),
            Self::SessionTooNew {
                retry_in_seconds, ..
            }
            | Self::TooManyAttempts { retry_in_seconds }
            | Self::TooManySignups { retry_in_seconds }
            | Self::TooManyMailRequests { retry_in_seconds }
            | Self::TooManySignInCodes { retry_in_seconds }
            | Self::TooManyExports { retry_in_seconds }
            | Self::TooManyApprovalRequests { retry_in_seconds } => Some(*retry_in_seconds),
            _ => None,
        }
    }

    pub fn internal(error: impl Into<BoxError>) -> Self {
        Self::Internal(error.into())
    }

    pub fn unavailable(error: impl Into<BoxError>) -> Self {
        Self::Unavailable(error.into())
    }
}

impl From<Problem> for Error {
    fn from(problem: Problem) -> Self {
        Self::Validation(problem.to_string())
    }
}

impl From<diesel::result::Error> for Error {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error as Diesel};
        match &error {
            Diesel::NotFound => Self::NotFound("Not found"),
            // The connection is gone: an outage, not a bug.
            Diesel::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            ) => Self::Unavailable(error.into()),
            _ => Self::Internal(error.into()),
        }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for Error {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        Self::Unavailable(error.into())
    }
}

impl From<crate::model::passwords::HashError> for Error {
    fn from(error: crate::model::passwords::HashError) -> Self {
        use crate::model::passwords::HashError;
        match error {
            // Overloaded: the caller may retry in a moment.
            HashError::QueueFull => Self::Unavailable(error.into()),
            HashError::WorkersGone | HashError::Argon2(_) => Self::Internal(error.into()),
        }
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(error: tokio::task::JoinError) -> Self {
        Self::Internal(error.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind, Error as Diesel};

    #[test]
    fn a_missing_row_is_not_found_and_a_lost_connection_is_an_outage() {
        assert!(matches!(Error::from(Diesel::NotFound), Error::NotFound(_)));
        let lost = Diesel::DatabaseError(
            DatabaseErrorKind::UnableToSendCommand,
            Box::new("connection closed".to_owned()),
        );
        assert!(matches!(Error::from(lost), Error::Unavailable(_)));
        let closed = Diesel::DatabaseError(
            DatabaseErrorKind::ClosedConnection,
            Box::new("closed".to_owned()),
        );
        assert!(matches!(Error::from(closed), Error::Unavailable(_)));
    }

    #[test]
    fn constraint_violations_and_unknown_database_errors_are_bugs() {
        for kind in [
            DatabaseErrorKind::UniqueViolation,
            DatabaseErrorKind::CheckViolation,
            DatabaseErrorKind::Unknown,
        ] {
            let error = Error::from(Diesel::DatabaseError(kind, Box::new("boom".to_owned())));
            assert!(matches!(error, Error::Internal(_)), "{kind:?}");
        }
    }

    #[test]
    fn the_cause_is_kept_for_the_log_and_never_shown() {
        let error = Error::from(Diesel::DatabaseError(
            DatabaseErrorKind::UnableToSendCommand,
            Box::new("connection reset by peer".to_owned()),
        ));
        assert_eq!(error.to_string(), "Service temporarily unavailable");
        assert_eq!(error.body().code, "service_unavailable");
        assert!(!error.body().error.contains("reset"));
        assert!(
            error.chain().contains("connection reset by peer"),
            "{}",
            error.chain()
        );
    }

    #[test]
    fn validation_problems_carry_the_shared_sentence() {
        let error = Error::from(Problem::PasswordTooShort);
        assert_eq!(error.code(), "validation");
        assert_eq!(error.to_string(), "Password must be at least 8 characters");
    }
}
