use actix_web::{HttpResponse, get, post, web};
use diesel_async::RunQueryDsl;
use shared::{ErrorBody, Health, HealthStatus};

use crate::error::Error;
use crate::http::error::ApiError;
use crate::state::AppState;

/// Liveness and the database: 503 when PostgreSQL cannot be reached.
#[utoipa::path(
    tag = "operations",
    operation_id = "healthz",
    security(()),
    responses(
        (status = 200, description = "Alive, and the database answers", body = Health),
        (status = 503, description = "`service_unavailable`: the database does not answer", body = ErrorBody),
    )
)]
#[get("/healthz")]
pub async fn healthz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let mut conn = state.pool.get().await?;
    diesel::sql_query("SELECT 1").execute(&mut conn).await?;
    Ok(HttpResponse::Ok().json(Health {
        status: HealthStatus::Ok,
        database: HealthStatus::Ok,
    }))
}

/// Readiness for a load balancer: 503 while the instance stops or while its event listener
/// is disconnected (its sockets would miss events), so that traffic drains elsewhere.
#[utoipa::path(
    tag = "operations",
    operation_id = "readyz",
    security(()),
    responses(
        (status = 200, description = "Ready: `{\"status\":\"ready\",\"stopping\":false,\"events\":\"connected\"}`", body = Readiness),
        (status = 503, description = "Not ready (stopping, or the event listener is disconnected); `Retry-After: 1`", body = Readiness),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let stopping = state.is_stopping();
    let listening = state.events.is_listening();
    let body = Readiness {
        status: if !stopping && listening {
            "ready"
        } else {
            "not_ready"
        }
        .to_owned(),
        stopping,
        events: if listening {
            "connected"
        } else {
            "disconnected"
        }
        .to_owned(),
    };
    if !stopping && listening {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header(("Retry-After", "1"))
            .json(body)
    }
}

/// Where browsers report Content-Security-Policy violations of the app (`report-uri`): each
/// is logged (one line, its fields quoted) and counted. Anything but a JSON object is 400
/// (browsers always send one).
#[utoipa::path(
    tag = "operations",
    operation_id = "csp_report",
    security(()),
    request_body(
        description = "The browser's report, `{\"csp-report\": {…}}`",
        content((Object = "application/csp-report"), (Object = "application/json"))
    ),
    responses(
        (status = 204, description = "Recorded"),
        (status = 400, description = "`bad_request`: the body is not a JSON object", body = ErrorBody),
    )
)]
#[post("/api/csp-reports")]
pub async fn csp_report(
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let report: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if !report.is_object() {
        return Err(ApiError(Error::BadRequest(
            "A Content-Security-Policy report is a JSON object".into(),
        )));
    }
    state
        .csp_reports
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let report = report.get("csp-report").unwrap_or(&report);
    let field = |name: &str| {
        report
            .get(name)
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect::<String>()
    };
    tracing::warn!(
        directive = ?field("violated-directive"),
        blocked = ?field("blocked-uri"),
        document = ?field("document-uri"),
        "the browser reported a Content-Security-Policy violation"
    );
    Ok(HttpResponse::NoContent().finish())
}

/// Whether an instance takes traffic.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: String,
    pub stopping: bool,
    /// `connected` or `disconnected` (the event listener).
    pub events: String,
}
