use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn with_one_session_active_a_login_waits_for_approval_and_only_hashes_are_stored() {
    let app = spawn_app().await;
    let _first = app.signed_up("ada@example.com").await;
    let second = app.device(FIREFOX_WINDOWS);
    let response = second.login("ada@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert!(
        response.headers().get("set-cookie").is_none(),
        "no session before approval"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "approval_required");
    let code = body["code"].as_str().unwrap();
    assert_eq!(code.len(), 6);
    assert!(code.chars().all(|c| c.is_ascii_digit()));
    let token = body["pending_token"].as_str().unwrap();
    assert!(token.len() >= 43, "at least 256 bits");
    assert_error(
        second.me().await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;

    let rows = app
        .sql("SELECT encode(code_hash, 'hex') AS code, encode(pending_token_hash, 'hex') AS token, status FROM login_approvals")
        .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["status"], "pending");
    assert!(!rows[0]["code"].as_str().unwrap().contains(code));
    assert_ne!(rows[0]["token"], token);
    assert_eq!(app.active_sessions_in_db().await, 1);
}

#[tokio::test]
async fn with_two_sessions_active_a_third_login_is_refused() {
    let app = spawn_app().await;
    let first = app.user_with_one_session().await;
    app.second_device(&first, "ada@example.com", FIREFOX_WINDOWS)
        .await;
    let third = app.device(SAFARI_IPHONE);
    let body = assert_error(
        third.login("ada@example.com", PASSWORD).await,
        StatusCode::CONFLICT,
        "session_limit",
    )
    .await;
    assert_eq!(body["error"], "Already 2 sessions active");
    assert_eq!(app.active_sessions_in_db().await, 2);
}

#[tokio::test]
async fn the_limit_is_configurable() {
    let app = spawn_app_with(|settings| settings.session.max_sessions = 1).await;
    app.signed_up("ada@example.com").await;
    let body = assert_error(
        app.device(FIREFOX_WINDOWS)
            .login("ada@example.com", PASSWORD)
            .await,
        StatusCode::CONFLICT,
        "session_limit",
    )
    .await;
    assert_eq!(body["error"], "Already 1 sessions active");
}

#[tokio::test]
async fn twenty_parallel_logins_never_leave_more_than_one_session_without_approval() {
    let app = spawn_app().await;
    // Signed up and out: no active session, so exactly one login may go straight in.
    let first = app.user_with_one_session().await;
    first.post("/api/auth/logout", json!({})).await;
    let devices: Vec<Device> = (0..20).map(|_| app.device(FIREFOX_WINDOWS)).collect();
    let statuses: Vec<StatusCode> = join_all(
        devices
            .iter()
            .map(|device| device.login("ada@example.com", PASSWORD)),
    )
    .await
    .iter()
    .map(|r| r.status())
    .collect();
    let count = |status: StatusCode| statuses.iter().filter(|s| **s == status).count();
    assert_eq!(count(StatusCode::OK), 1, "{statuses:?}");
    // The others wait for approval, at most 3 at a time; the rest are told to try later.
    assert_eq!(count(StatusCode::ACCEPTED), 3, "{statuses:?}");
    assert_eq!(count(StatusCode::TOO_MANY_REQUESTS), 16, "{statuses:?}");
    assert_eq!(app.active_sessions_in_db().await, 1);
}

#[tokio::test]
async fn a_leaked_password_cannot_flood_the_prompt() {
    let app = spawn_app().await;
    app.signed_up("ada@example.com").await;
    let attacker = app.device(FIREFOX_WINDOWS);
    for _ in 0..3 {
        assert_eq!(
            attacker.login("ada@example.com", PASSWORD).await.status(),
            StatusCode::ACCEPTED
        );
    }
    assert_error(
        attacker.login("ada@example.com", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_pending_approvals",
    )
    .await;
    // Once they expire, a new request is possible again (even before any sweep).
    app.clock.advance(chrono::Duration::minutes(3));
    assert_eq!(
        attacker.login("ada@example.com", PASSWORD).await.status(),
        StatusCode::ACCEPTED
    );
    app.sweep().await;
    let expired = app
        .sql("SELECT count(*) AS n FROM login_approvals WHERE status = 'expired'")
        .await;
    assert_eq!(expired[0]["n"], 3);
}

#[tokio::test]
async fn the_app_is_told_the_limit_and_the_rules_instead_of_hard_coding_them() {
    let app = spawn_app_with(|settings| settings.session.max_sessions = 3).await;
    let config: Value = app
        .device(CHROME_LINUX)
        .get("/api/config")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(config["max_sessions"], 3);
    assert_eq!(config["app_name"], "Session Manager");
    assert_eq!(
        config["mail_delivery"], "log",
        "no SMTP_URL: mail only goes to the log"
    );
    assert_eq!(config["password_min"], 8);
    assert_eq!(config["password_max"], 128);
    assert_eq!(config["idle_timeout_secs"], 3600);
    assert_eq!(config["approval_ttl_secs"], 120);
}
