//! Logging setup. Request spans record the path but never the query string, which may
//! carry a pending token.

use actix_web::Error;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;
use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    // Colours only on a terminal, not in files and log collectors.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_target(false)
        .try_init();
}

pub struct PathOnlySpans;

impl RootSpanBuilder for PathOnlySpans {
    fn on_request_start(request: &ServiceRequest) -> Span {
        tracing::info_span!(
            "request",
            method = %request.method(),
            path = %request.path(),
            request_id = %uuid::Uuid::new_v4(),
        )
    }

    /// One access-log line per request. Errors are not logged again here: server errors are
    /// logged where the response is built (`error.rs`), client errors are the client's business.
    fn on_request_end<B: actix_web::body::MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, Error>,
    ) {
        let status = match outcome {
            Ok(response) => response.status().as_u16(),
            Err(error) => error.as_response_error().status_code().as_u16(),
        };
        span.in_scope(|| tracing::info!(status, "served"));
    }
}
