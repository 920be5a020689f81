//! Request spans: the path, never the query string (which may carry a pending token).

use std::time::Instant;

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use metrics::SharedString;

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
/// request metrics: count and latency by method, route template and status class. Every
/// label comes from a closed set, whatever the client sends: a label per value a client
/// chooses would be a new series for ever (memory, and a `/metrics` that grows without
/// bound). So methods outside HTTP's standard ones count as `other`, the route is the
/// template (`/api/sessions/{id}`), never the path, with `unmatched` for paths no route
/// matches, and the status is its class (`2xx`, `4xx`, …). Errors are not logged again
/// here: server errors are logged where the response is built (`error.rs`), client errors
/// are the client's business.
pub async fn record_request(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let outcome = next.call(request).await;
    let status = match &outcome {
        Ok(response) => response.status().as_u16(),
        Err(error) => error.as_response_error().status_code().as_u16(),
    };
    let elapsed = started.elapsed();
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    tracing::info!(route, status, latency_ms, "served");
    let key = (method, route, status_class(status));
    // The registry's handles for these labels, kept per worker thread: finding them in the
    // registry (hashing the labels, its lock) on every request was a measurable share of it.
    HANDLES.with_borrow_mut(|handles| {
        let (counter, histogram) =
            handles
                .entry(key)
                .or_insert_with_key(|(method, route, status)| {
                    let labels = [
                        ("method", SharedString::const_str(method)),
                        ("route", SharedString::from(route.clone())),
                        ("status", SharedString::const_str(status)),
                    ];
                    (
                        metrics::counter!(HTTP_REQUESTS, &labels),
                        metrics::histogram!(HTTP_DURATION, &labels),
                    )
                });
        counter.increment(1);
        histogram.record(elapsed);
    });
    outcome
}

/// Method, route template and status class: a closed set, so the map stays small.
type Labels = (&'static str, String, &'static str);

thread_local! {
    static HANDLES: std::cell::RefCell<std::collections::HashMap<Labels, (metrics::Counter, metrics::Histogram)>> =
        std::cell::RefCell::default();
}

/// The method as a metrics label: one of HTTP's standard methods, or `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// The status as a metrics label: its class, `1xx` to `5xx`.
fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_closed_sets() {
        assert_eq!(method_label(&Method::DELETE), "DELETE");
        let odd = Method::from_bytes(b"BREW-COFFEE").unwrap();
        assert_eq!(method_label(&odd), "other");
        assert_eq!(status_class(204), "2xx");
        assert_eq!(status_class(404), "4xx");
        assert_eq!(status_class(503), "5xx");
        assert_eq!(status_class(101), "1xx");
    }
}
