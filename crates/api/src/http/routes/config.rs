use actix_web::{HttpResponse, get, web};
use shared::ClientConfig;

use crate::http::boot;
use crate::state::AppState;

/// The rules the app shows (limit, lifetimes, password length), its name and whether mail
/// really leaves, so it hard-codes none.
#[utoipa::path(
    tag = "operations",
    operation_id = "client_config",
    summary = "The app's name and the rules it shows (limit, policy, lifetimes, password length, mail delivery)",
    security(()),
    responses((status = 200, description = "The configuration", body = ClientConfig))
)]
#[get("/api/config")]
pub async fn client_config(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(boot::client_config(&state))
}
