//! The one error type of the API and its JSON envelope.
//!
//! Policy:
//! * Every error response is `{"error": "<sentence for people>", "code": "<stable machine code>"}`.
//! * Client mistakes are 4xx with a specific code: malformed JSON 400 `bad_request`, wrong
//!   types or invalid values 422 `validation`, oversized bodies 413 `payload_too_large`.
//! * Authentication failures are 401 (`unauthenticated`, `invalid_credentials`,
//!   `session_expired`, `invalid_session`); a request from a foreign Origin is 403.
//! * A database or pool outage is 503 `service_unavailable`; its details are logged, never sent.
//! * Anything unexpected is 500 `internal` with no details; it is logged once, here, when the
//!   response is built — handlers do not log errors they return.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use shared::ErrorBody;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
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
    #[error("Current password is incorrect")]
    WrongPassword,
    #[error("Origin not allowed")]
    ForbiddenOrigin,
    #[error("{0}")]
    NotFound(&'static str),
    #[error("An account with this email already exists")]
    EmailTaken,
    #[error("Already {0} sessions active")]
    SessionLimit(i64),
    #[error("Too many failed sign-in attempts; try again in {retry_in_seconds} seconds")]
    TooManyAttempts { retry_in_seconds: i64 },
    #[error("Too many logins are waiting for approval; try again later")]
    TooManyPendingApprovals,
    #[error("{message}")]
    ApprovalClosed {
        message: &'static str,
        code: &'static str,
    },
    #[error("This login request is not approved yet")]
    ApprovalNotReady,
    #[error("Wrong code, {tries_left} tries left")]
    WrongCode { tries_left: i32 },
    #[error("Service temporarily unavailable")]
    Unavailable(String),
    #[error("Internal error")]
    Internal(String),
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Validation(_) => "validation",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidCredentials => "invalid_credentials",
            Self::SessionExpired => "session_expired",
            Self::InvalidSession => "invalid_session",
            Self::WrongPassword => "wrong_password",
            Self::ForbiddenOrigin => "forbidden_origin",
            Self::NotFound(_) => "not_found",
            Self::EmailTaken => "email_taken",
            Self::SessionLimit(_) => "session_limit",
            Self::TooManyPendingApprovals => "too_many_pending_approvals",
            Self::TooManyAttempts { .. } => "too_many_attempts",
            Self::ApprovalClosed { code, .. } => code,
            Self::ApprovalNotReady => "approval_pending",
            Self::WrongCode { .. } => "wrong_code",
            Self::Unavailable(_) => "service_unavailable",
            Self::Internal(_) => "internal",
        }
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.to_string(),
            code: self.code().to_owned(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unauthenticated
            | Self::InvalidCredentials
            | Self::SessionExpired
            | Self::InvalidSession => StatusCode::UNAUTHORIZED,
            Self::WrongPassword | Self::ForbiddenOrigin => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::EmailTaken | Self::SessionLimit(_) | Self::ApprovalNotReady => {
                StatusCode::CONFLICT
            }
            Self::ApprovalClosed { .. } => StatusCode::GONE,
            Self::WrongCode { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyPendingApprovals | Self::TooManyAttempts { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Unavailable(detail) => tracing::warn!(%detail, "service unavailable"),
            Self::Internal(detail) => tracing::error!(%detail, "internal error"),
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        match self {
            Self::Unavailable(_) => {
                response.insert_header(("Retry-After", "5"));
            }
            Self::TooManyAttempts { retry_in_seconds } => {
                response.insert_header(("Retry-After", retry_in_seconds.to_string()));
            }
            _ => {}
        }
        response.json(self.body())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match &error {
            // Constraint violations the code did not expect are bugs, not outages.
            Error::DatabaseError(
                DatabaseErrorKind::UniqueViolation
                | DatabaseErrorKind::ForeignKeyViolation
                | DatabaseErrorKind::NotNullViolation
                | DatabaseErrorKind::CheckViolation,
                _,
            )
            | Error::DeserializationError(_)
            | Error::SerializationError(_)
            | Error::QueryBuilderError(_) => Self::Internal(error.to_string()),
            _ => Self::Unavailable(format!("database: {error}")),
        }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for ApiError {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        Self::Unavailable(format!("database pool: {error}"))
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(error: tokio::task::JoinError) -> Self {
        Self::Internal(format!("blocking task failed: {error}"))
    }
}

/// Maps actix's extractor errors (JSON, query, path) into the envelope.
pub mod extractors {
    use super::ApiError;
    use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
    use actix_web::{Error, HttpRequest};

    pub fn json(error: JsonPayloadError, _: &HttpRequest) -> Error {
        let api = match &error {
            JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
                ApiError::PayloadTooLarge
            }
            JsonPayloadError::ContentType => ApiError::UnsupportedMediaType,
            JsonPayloadError::Deserialize(inner) if inner.is_data() => {
                ApiError::Validation(format!("Invalid request body: {inner}"))
            }
            JsonPayloadError::Deserialize(inner) => {
                ApiError::BadRequest(format!("Malformed JSON: {inner}"))
            }
            _ => ApiError::BadRequest("Could not read the request body".into()),
        };
        api.into()
    }

    pub fn query(error: QueryPayloadError, _: &HttpRequest) -> Error {
        ApiError::BadRequest(format!("Invalid query string: {error}")).into()
    }

    pub fn path(error: PathError, _: &HttpRequest) -> Error {
        let detail = match &error {
            PathError::Deserialize(inner) => inner.to_string(),
            _ => "bad path".to_owned(),
        };
        ApiError::BadRequest(format!("Invalid path: {detail}")).into()
    }
}
