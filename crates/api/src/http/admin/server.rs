//! The admin listener (`ADMIN_BIND`): the admin API and its document, with the public API's
//! error envelope, request spans and access log, and nothing else (no cookies, no static
//! files: a key is the only credential here).

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, HttpServer, web};
use tracing_actix_web::TracingLogger;
use utoipa_actix_web::AppExt;

use crate::http::admin::{openapi, routes};
use crate::http::error::extractors;
use crate::http::known_routes::KnownRoutes;
use crate::http::telemetry::{PathOnlySpans, record_request};
use crate::state::AppState;

/// Where the admin document is served.
pub const DOCUMENT_PATH: &str = "/admin/v1/openapi.json";

pub fn server(listener: TcpListener, state: web::Data<AppState>) -> std::io::Result<Server> {
    let document = openapi::document();
    let known_routes = web::Data::new(KnownRoutes::from_document(&document));
    let document = web::Data::new(document);
    let json_limit = state.settings.server.json_limit;
    let shutdown_timeout = state.settings.server.shutdown_timeout.as_secs();
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(known_routes.clone())
            .app_data(document.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(json_limit)
                    .error_handler(extractors::json),
            )
            .app_data(web::QueryConfig::default().error_handler(extractors::query))
            .app_data(web::PathConfig::default().error_handler(extractors::path))
            .app_data(web::PayloadConfig::default().limit(json_limit))
            .wrap(from_fn(record_request))
            .wrap(TracingLogger::<PathOnlySpans>::new())
            .into_utoipa_app()
            .configure(routes::configure)
            .into_app()
            .route(DOCUMENT_PATH, web::get().to(serve_document))
            .default_service(web::to(crate::http::routes::not_found))
    })
    // Administrators are few: two workers keep one slow request from blocking the others.
    .workers(2)
    .disable_signals()
    .shutdown_timeout(shutdown_timeout)
    .listen(listener)?
    .run())
}

async fn serve_document(document: web::Data<utoipa::openapi::OpenApi>) -> HttpResponse {
    HttpResponse::Ok().json(document.get_ref())
}
