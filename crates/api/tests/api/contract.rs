//! The published OpenAPI document against the router and the running server.

use std::collections::BTreeSet;
use std::path::Path;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

/// Every `#[get("…")]`, `#[post("…")]`, … in `dir` of `src/http`, as (METHOD,
/// /path/{param}); the admin API's (`src/http/admin`, its own listener and document) only
/// when `dir` is that.
fn routes_in_source(dir: &str) -> BTreeSet<(String, String)> {
    fn visit(dir: &Path, admin: &Path, found: &mut BTreeSet<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path != admin {
                    visit(&path, admin, found);
                }
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for line in text.lines().map(str::trim) {
                for method in ["get", "post", "put", "patch", "delete"] {
                    let prefix = format!("#[{method}(\"");
                    if let Some(rest) = line.strip_prefix(&prefix) {
                        let route = rest.split('"').next().unwrap();
                        found.insert((method.to_uppercase(), route.to_owned()));
                    }
                }
            }
        }
    }
    let http = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
    let admin = http.join("admin");
    let mut found = BTreeSet::new();
    let dir = http.join(dir);
    let skipped = if dir == admin {
        Path::new("")
    } else {
        admin.as_path()
    };
    visit(&dir, skipped, &mut found);
    found
}

fn routes_in_document(document: &Value) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                found.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    found
}

#[tokio::test]
async fn every_route_of_the_router_is_in_the_published_document_and_nothing_else() {
    let app = spawn_app().await;
    let response = reqwest::get(app.url("/api/openapi.json")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let document: Value = response.json().await.unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));

    let in_source = routes_in_source("");
    assert!(
        in_source.len() >= 25,
        "the scan found too few routes: {in_source:?}"
    );
    assert_eq!(routes_in_document(&document), in_source);
}

#[tokio::test]
async fn every_route_of_the_admin_router_is_in_the_admin_document_and_nothing_else() {
    let app = spawn_app().await;
    let response = reqwest::get(format!("{}/admin/v1/openapi.json", app.admin_address))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let document: Value = response.json().await.unwrap();
    let in_source = routes_in_source("admin");
    assert!(
        in_source.len() >= 7,
        "the scan found too few routes: {in_source:?}"
    );
    assert_eq!(routes_in_document(&document), in_source);
}

#[tokio::test]
async fn every_operation_documents_its_errors_with_the_json_envelope_and_its_security() {
    let app = spawn_app().await;
    let document: Value = reqwest::get(app.url("/api/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["session_cookie"]["in"], "cookie");
    assert_eq!(schemes["session_cookie"]["name"], "sm_session");
    assert!(document["components"]["schemas"]["ServerMessage"].is_object());
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            let id = format!("{method} {path}");
            assert!(operation["operationId"].is_string(), "{id}: no operationId");
            assert!(operation["security"].is_array(), "{id}: no security");
            assert!(responses.contains_key("503"), "{id}: no 503");
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    let schema = &response["content"]["application/json"]["schema"];
                    assert!(
                        schema.to_string().contains("ErrorBody")
                            || schema.to_string().contains("Readiness"),
                        "{id} {status}: not the error envelope: {response}"
                    );
                }
            }
            if operation.get("requestBody").is_some() {
                for status in ["400", "403", "413", "415", "422"] {
                    assert!(responses.contains_key(status), "{id}: no {status}");
                }
            }
        }
    }
}

#[tokio::test]
async fn swagger_ui_serves_the_document_under_its_own_content_security_policy() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect = client.get(app.url("/api/docs")).send().await.unwrap();
    assert!(redirect.status().is_redirection());
    let page = client.get(app.url("/api/docs/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(!policy.contains("unsafe-eval"), "{policy}");
    assert!(page.text().await.unwrap().contains("swagger"));
    let initializer = client
        .get(app.url("/api/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(initializer.contains("/api/openapi.json"), "{initializer}");
}

#[tokio::test]
async fn an_unknown_api_path_is_a_json_404() {
    let app = spawn_app().await;
    let device = app.device(CHROME_LINUX);
    assert_error(
        device.get("/api/no-such-thing").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn a_known_path_with_another_method_is_a_json_405_naming_the_allowed_ones() {
    let app = spawn_app().await;
    let device = app.user_with_one_session().await;
    let response = device
        .client
        .put(device.url("/api/sessions"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["allow"], "GET");
    assert_error(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;

    let response = device
        .client
        .put(device.url("/api/sessions/3f0c4b2e-9d8a-4c1b-8e7f-123456789abc"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["allow"], "DELETE");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);

    let response = device.get("/api/auth/login").await;
    assert_eq!(response.headers()["allow"], "POST");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_csp_report_is_recorded_and_anything_else_posted_there_is_a_400() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    let report = client
        .post(app.url("/api/csp-reports"))
        .header("content-type", "application/csp-report")
        .body(r#"{"csp-report":{"violated-directive":"script-src","blocked-uri":"inline"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(report.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.state
            .csp_reports
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    for body in ["", "[1]", "not json"] {
        assert_error(
            client
                .post(app.url("/api/csp-reports"))
                .body(body)
                .send()
                .await
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        )
        .await;
    }
}
