use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::support::*;

#[tokio::test]
async fn bad_signup_input_gets_a_json_error_never_a_500() {
    let app = spawn_app().await;
    let device = app.device(CHROME_LINUX);
    let cases = [
        (
            json!({"email": "ada@example.com", "password": "short", "name": "Ada"}),
            "Password must be at least 8 characters",
        ),
        (
            json!({"email": "ada@example.com", "password": "x".repeat(129), "name": "Ada"}),
            "Password must be at most 128 characters",
        ),
        (
            json!({"email": "not-an-email", "password": PASSWORD, "name": "Ada"}),
            "Enter a valid email address",
        ),
        (
            json!({"email": "", "password": PASSWORD, "name": "Ada"}),
            "Email is required",
        ),
        (
            json!({"email": "ada@example.com", "password": PASSWORD, "name": ""}),
            "Name is required",
        ),
    ];
    for (body, message) in cases {
        let error = assert_error(
            device.post("/api/auth/signup", body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
        )
        .await;
        assert_eq!(error["error"], message);
    }
    // Missing field and wrong type: 422 with the envelope.
    let missing = device
        .post("/api/auth/signup", json!({"email": "ada@example.com"}))
        .await;
    assert_error(missing, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    let wrong_type = device
        .post(
            "/api/auth/signup",
            json!({"email": 5, "password": true, "name": []}),
        )
        .await;
    assert_error(wrong_type, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert!(app.sql("SELECT id FROM users").await.is_empty());
}

#[tokio::test]
async fn malformed_oversized_and_non_json_bodies_are_client_errors() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    let post = |body: String, content_type: &'static str| {
        client
            .post(app.url("/api/auth/login"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    assert_error(
        post("{\"email\":".into(), "application/json")
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    assert_error(
        post("".into(), "application/json").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    let huge = format!(
        "{{\"email\":\"{}\",\"password\":\"x\"}}",
        "a".repeat(100_000)
    );
    assert_error(
        post(huge, "application/json").await.unwrap(),
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
    assert_error(
        post("email=a".into(), "application/x-www-form-urlencoded")
            .await
            .unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    // Oversized password on login: refused before hashing.
    let device = app.device(CHROME_LINUX);
    assert_error(
        device.login("ada@example.com", &"x".repeat(129)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_error(
        device.login("ada@example.com", "").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
}

/// serde's derived structs also read an array of their fields in order: the API takes objects
/// only (Schemathesis found `["¢\u{1f}", "¢\u{1f}"]` read as a password-strength request).
#[tokio::test]
async fn a_body_that_is_an_array_or_a_scalar_is_refused_not_read_field_by_field() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    for (path, body) in [
        ("/api/password/strength", json!(["¢\u{1f}", "¢\u{1f}"])),
        ("/api/auth/login", json!(["ada@example.com", PASSWORD])),
        ("/api/auth/signup", json!("ada@example.com")),
        ("/api/password/strength", json!(42)),
    ] {
        let response = client.post(app.url(path)).json(&body).send().await.unwrap();
        assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    }
    // The same fields in an object are read.
    let strength = client
        .post(app.url("/api/password/strength"))
        .json(&json!({ "password": "¢\u{1f}" }))
        .send()
        .await
        .unwrap();
    assert_eq!(strength.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_endpoints_bad_ids_and_bad_paging_get_the_envelope() {
    let app = spawn_app().await;
    let device = app.signed_up("ada@example.com").await;
    assert_error(
        device.get("/api/nope").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        device.delete("/api/sessions/not-a-uuid").await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    assert_error(
        device
            .delete(&format!("/api/sessions/{}", uuid::Uuid::new_v4()))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        device.get("/api/sessions/history?limit=0").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_error(
        device.get("/api/sessions/history?limit=abc").await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    assert_error(
        device.get("/api/sessions/history?cursor=garbage").await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    assert_error(
        device.get("/api/activity?cursor=x1").await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    assert_error(
        device.get("/api/activity?limit=101").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
}

#[tokio::test]
async fn health_reports_the_database() {
    let app = spawn_app().await;
    let response = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"status": "ok", "database": "ok"}));
}

#[tokio::test]
async fn state_changes_from_a_foreign_origin_are_refused_but_curl_and_allowed_origins_pass() {
    let app = spawn_app_with(|settings| {
        settings.server.allowed_origins = vec!["http://localhost:8080".into()]
    })
    .await;
    let device = app.signed_up("ada@example.com").await;
    let with_origin = |origin: &str| {
        device
            .client
            .patch(app.url("/api/me"))
            .header("origin", origin)
            .json(&json!({"name": "Changed"}))
            .send()
    };
    assert_error(
        with_origin("https://evil.example").await.unwrap(),
        StatusCode::FORBIDDEN,
        "forbidden_origin",
    )
    .await;
    assert_error(
        with_origin("null").await.unwrap(),
        StatusCode::FORBIDDEN,
        "forbidden_origin",
    )
    .await;
    assert_eq!(
        with_origin("http://localhost:8080").await.unwrap().status(),
        StatusCode::OK
    );
    // The server's own origin (the SPA served by the API) is allowed.
    assert_eq!(
        with_origin(&format!("http://127.0.0.1:{}", app.port))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // No Origin at all: curl.
    assert_eq!(
        device
            .patch("/api/me", json!({"name": "Curl"}))
            .await
            .status(),
        StatusCode::OK
    );
    // Reads are not state changes.
    let read = device
        .client
        .get(app.url("/api/auth/me"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
}

#[tokio::test]
async fn forwarded_for_is_believed_only_behind_a_trusted_proxy() {
    for (trust, expected) in [(false, "127.0.0.1"), (true, "203.0.113.9")] {
        let app = spawn_app_with(|settings| settings.server.trust_proxy = trust).await;
        let device = app.device(CHROME_LINUX);
        let response = device
            .client
            .post(app.url("/api/auth/signup"))
            .header("x-forwarded-for", "198.51.100.1, 203.0.113.9")
            .json(&json!({"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}))
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["session"]["ip"], expected, "trust_proxy = {trust}");
    }
}

/// A TCP proxy in front of PostgreSQL that the test can cut and restore.
struct DatabaseLink {
    port: u16,
    up: watch::Sender<bool>,
}

impl DatabaseLink {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (up, watcher) = watch::channel(true);
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let mut watcher = watcher.clone();
                tokio::spawn(async move {
                    if !*watcher.borrow() {
                        return; // refused: the database is "down"
                    }
                    let Ok(mut outbound) = TcpStream::connect("127.0.0.1:5432").await else {
                        return;
                    };
                    tokio::select! {
                        _ = copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = watcher.wait_for(|up| !up) => {}
                    }
                });
            }
        });
        Self { port, up }
    }
}

#[tokio::test]
async fn a_database_outage_is_a_503_with_the_envelope_and_the_service_recovers() {
    let link = DatabaseLink::start().await;
    let site = std::env::temp_dir().join(format!("sm-site-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(site.join("index.html"), "<!doctype html><body></body>").unwrap();
    let static_dir = site.clone();
    let app = spawn_app_with(move |settings| {
        settings.server.static_dir = Some(static_dir);
        settings.database.url = settings
            .database
            .url
            .expose()
            .replace(":5432/", &format!(":{}/", link.port))
            .into();
        // Short, so the outage shows quickly; not so short that a loaded machine's first
        // connections through the link count as one.
        settings.database.timeout = Duration::from_secs(2);
    })
    .await;
    let device = app.signed_up("ada@example.com").await;
    assert_eq!(device.me().await.status(), StatusCode::OK);

    link.up.send_replace(false);
    for _ in 0..3 {
        let response = device.me().await;
        assert_eq!(
            response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned()),
            Some("5".into())
        );
        let body = assert_error(
            response,
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
        )
        .await;
        assert_eq!(body["error"], "Service temporarily unavailable");
    }
    let health = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    // The app's page still comes, without its boot state: the app asks, and shows the outage.
    let document = device.get("/").await;
    assert_eq!(document.status(), StatusCode::OK);
    assert_eq!(
        document.text().await.unwrap(),
        "<!doctype html><body></body>"
    );
    let login = app
        .device(FIREFOX_WINDOWS)
        .login("ada@example.com", PASSWORD)
        .await;
    assert_error(
        login,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    )
    .await;

    link.up.send_replace(true);
    let mut recovered = false;
    for _ in 0..20 {
        if device.me().await.status() == StatusCode::OK {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "the API answers again once PostgreSQL is back");
    let document = device.get("/").await.text().await.unwrap();
    assert!(
        document.contains(r#"id="boot-session">{"authenticated":true"#),
        "{document}"
    );
    let _ = std::fs::remove_dir_all(&site);
}
