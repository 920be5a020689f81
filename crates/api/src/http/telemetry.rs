//! Request spans: the path, never the query string (which may carry a pending token).

use std::time::Instant;

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use crate::telemetry::metrics::{HTTP_DURATION, HTTP_REQUESTS};
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;

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

    /// The access log is `record_request` (it knows the route template and the latency).
    fn on_request_end<B: MessageBody>(_span: Span, _outcome: &Result<ServiceResponse<B>, Error>) {}
}

/// One access-log line per request, in the request's span (so it carries its id), and the
/// request metrics: count and latency by method, route template and status. The template
/// (`/api/sessions/{id}`), never the path, keeps the series few; paths no route matches
/// count as `unmatched`. Errors are not logged again here: server errors are logged where
/// the response is built (`error.rs`), client errors are the client's business.
pub async fn record_request(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let outcome = next.call(request).await;
    let status = match &outcome {
        Ok(response) => response.status().as_u16(),
        Err(error) => error.as_response_error().status_code().as_u16(),
    };
    let elapsed = started.elapsed();
    let labels = [
        ("method", method),
        ("route", route.clone()),
        ("status", status.to_string()),
    ];
    metrics::counter!(HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(HTTP_DURATION, &labels).record(elapsed);
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    tracing::info!(route, status, latency_ms, "served");
    outcome
}
