//! The error type as HTTP: status codes, `Retry-After`, the JSON envelope, and the one place
//! server-side errors are logged (with their whole source chain).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::error::Error;

/// What a 401 means, as every operation behind the session cookie documents it.
pub const NOT_SIGNED_IN: &str = "Not signed in: `unauthenticated`, `invalid_session`, `session_expired` or `session_replaced` (a newer sign-in took its place)";

pub fn status(error: &Error) -> StatusCode {
    match error {
        Error::BadRequest(_)
        | Error::InvalidLink
        | Error::InvalidChallenge
        | Error::PasskeyRejected(_) => StatusCode::BAD_REQUEST,
        Error::Validation(_)
        | Error::WrongCode { .. }
        | Error::WeakPassword(_)
        | Error::InvalidCode => StatusCode::UNPROCESSABLE_ENTITY,
        Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Error::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Error::Unauthenticated
        | Error::InvalidCredentials
        | Error::SessionExpired
        | Error::InvalidSession
        | Error::InvalidApiKey
        | Error::SessionReplaced { .. } => StatusCode::UNAUTHORIZED,
        Error::WrongPassword
        | Error::ForbiddenOrigin
        | Error::InsufficientScope
        | Error::SessionTooNew { .. }
        | Error::ReauthenticationRequired => StatusCode::FORBIDDEN,
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
        Error::EmailTaken
        | Error::SessionLimit(_)
        | Error::AlreadyVerified
        | Error::SecondFactorEnabled
        | Error::SecondFactorNotEnabled
        | Error::PasskeyLimit(_) => StatusCode::CONFLICT,
        Error::ChallengeExpired => StatusCode::GONE,
        Error::Approval(refusal) if refusal.is_premature() => StatusCode::CONFLICT,
        Error::Approval(_) => StatusCode::GONE,
        Error::TooManyPendingApprovals
        | Error::TooManyAttempts { .. }
        | Error::TooManySignups { .. }
        | Error::TooManySockets
        | Error::TooManyMailRequests { .. }
        | Error::TooManySignInCodes { .. }
        | Error::TooManyExports { .. }
        | Error::TooManyApprovalRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Logs an error that is the server's business, once, with its causes.
pub fn log(error: &Error) {
    match error {
        Error::Unavailable(_) => tracing::warn!(error = %error.chain(), "service unavailable"),
        Error::Internal(_) => tracing::error!(error = %error.chain(), "internal error"),
        _ => {}
    }
}

/// The core's error as an HTTP response (a newtype: the orphan rule keeps `ResponseError` for
/// `Error` out of this crate). Handlers return it; `?` converts whatever converts to `Error`.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ApiError(pub Error);

impl<E> From<E> for ApiError
where
    Error: From<E>,
{
    fn from(error: E) -> Self {
        Self(Error::from(error))
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        status(&self.0)
    }

    fn error_response(&self) -> HttpResponse {
        log(&self.0);
        let mut response = HttpResponse::build(self.status_code());
        if let Some(seconds) = self.0.retry_after() {
            response.insert_header(("Retry-After", seconds.to_string()));
        }
        match &self.0 {
            Error::MethodNotAllowed { allow } => {
                response.insert_header(("Allow", allow.as_str()));
            }
            // RFC 6750: how to authenticate, and why a key was not enough.
            Error::InvalidApiKey => {
                response.insert_header(("WWW-Authenticate", "Bearer realm=\"admin\""));
            }
            Error::InsufficientScope => {
                response.insert_header((
                    "WWW-Authenticate",
                    "Bearer realm=\"admin\", error=\"insufficient_scope\", scope=\"write\"",
                ));
            }
            _ => {}
        }
        response.json(self.0.body())
    }
}

/// Maps actix's extractor errors (JSON, query, path) into the envelope.
pub mod extractors {
    use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
    use actix_web::{Error as ActixError, HttpRequest};

    use super::ApiError;
    use crate::error::Error;

    pub fn json(error: JsonPayloadError, _: &HttpRequest) -> ActixError {
        let api = match &error {
            JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
                Error::PayloadTooLarge
            }
            JsonPayloadError::ContentType => Error::UnsupportedMediaType,
            JsonPayloadError::Deserialize(inner) if inner.is_data() => {
                Error::Validation(format!("Invalid request body: {inner}"))
            }
            JsonPayloadError::Deserialize(inner) => {
                Error::BadRequest(format!("Malformed JSON: {inner}"))
            }
            _ => Error::BadRequest("Could not read the request body".into()),
        };
        ApiError(api).into()
    }

    pub fn query(error: QueryPayloadError, _: &HttpRequest) -> ActixError {
        ApiError(Error::BadRequest(format!("Invalid query string: {error}"))).into()
    }

    pub fn path(error: PathError, request: &HttpRequest) -> ActixError {
        if let Some(wrong_method) = crate::http::known_routes::wrong_method(request) {
            return ApiError(wrong_method).into();
        }
        let detail = match &error {
            PathError::Deserialize(inner) => inner.to_string(),
            _ => "bad path".to_owned(),
        };
        ApiError(Error::BadRequest(format!("Invalid path: {detail}"))).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::approval::Refusal;

    #[test]
    fn not_found_is_404_and_only_outages_are_503() {
        let not_found = Error::from(diesel::result::Error::NotFound);
        assert_eq!(status(&not_found), StatusCode::NOT_FOUND);
        let outage = Error::from(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::ClosedConnection,
            Box::new("closed".to_owned()),
        ));
        assert_eq!(status(&outage), StatusCode::SERVICE_UNAVAILABLE);
        let bug = Error::from(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            Box::new("duplicate".to_owned()),
        ));
        assert_eq!(status(&bug), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn client_errors_map_to_their_statuses() {
        let cases = [
            (Error::Validation("x".into()), 422),
            (Error::BadRequest("x".into()), 400),
            (Error::InvalidSession, 401),
            (Error::ForbiddenOrigin, 403),
            (Error::SessionLimit(2), 409),
            (Error::Approval(Refusal::NotYetApproved), 409),
            (Error::Approval(Refusal::Denied), 410),
            (Error::WrongCode { tries_left: 3 }, 422),
            (
                Error::TooManyAttempts {
                    retry_in_seconds: 5,
                },
                429,
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(status(&error).as_u16(), expected, "{error:?}");
        }
    }

    #[test]
    fn responses_carry_the_envelope_and_retry_after() {
        let response = ApiError(Error::TooManyAttempts {
            retry_in_seconds: 42,
        })
        .error_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            response
                .headers()
                .get("retry-after")
                .and_then(|value| value.to_str().ok()),
            Some("42")
        );
    }
}
