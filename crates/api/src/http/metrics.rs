//! `GET /metrics` for Prometheus, on a listener of its own (`METRICS_BIND`, loopback by
//! default) so that it is never public by accident. Not part of the API's router or of its
//! OpenAPI document.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{App, HttpResponse, HttpServer, web};

use crate::services::operations;
use crate::state::AppState;
use crate::telemetry::metrics;

pub fn server(listener: TcpListener, state: web::Data<AppState>) -> std::io::Result<Server> {
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/metrics", web::get().to(scrape))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?
    .run())
}

async fn scrape(state: web::Data<AppState>) -> HttpResponse {
    // The in-process gauges are set even when the database does not answer.
    let (gauges, error) = operations::observe(&state).await;
    if let Some(error) = error {
        tracing::warn!(error = %error.chain(), "metrics: cannot count the active sessions");
    }
    let body = metrics::render(|| gauges.record());
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body)
}
