//! Sudo mode: changes to what protects the account need a proof of the user younger than
//! `REAUTH_WINDOW_SECS` (the sign-in, or a re-authentication), by the app's clock.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

const NEW_PASSWORD: &str = "a fresh and long passphrase";

fn past_the_window() -> chrono::Duration {
    chrono::Duration::seconds(601)
}

#[tokio::test]
async fn a_fresh_sign_in_may_change_the_password_and_sign_out_the_others() {
    let app = spawn_app().await;
    let (first, second) = app.user_with_two_sessions().await;
    let response = first.delete("/api/sessions/others").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(second.me().await.status(), StatusCode::UNAUTHORIZED);
    let response = first
        .post(
            "/api/me/password",
            json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn after_the_window_sensitive_changes_need_reauthentication_and_then_are_allowed() {
    let app = spawn_app().await;
    let device = app.user_with_one_session().await;
    app.clock.advance(past_the_window());
    // Still signed in: only the sensitive changes wait.
    assert_eq!(device.me().await.status(), StatusCode::OK);
    let change_password = json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD});
    for response in [
        device
            .post("/api/me/password", change_password.clone())
            .await,
        device.delete("/api/sessions/others").await,
        device
            .post(
                "/api/me/email",
                json!({"new_email": "ada@new.example", "current_password": PASSWORD}),
            )
            .await,
        device.post("/api/me/totp", json!({})).await,
    ] {
        assert_error(response, StatusCode::FORBIDDEN, "reauthentication_required").await;
    }

    assert_error(
        device
            .post(
                "/api/auth/reauthenticate",
                json!({"password": "not the password"}),
            )
            .await,
        StatusCode::FORBIDDEN,
        "wrong_password",
    )
    .await;
    let response = device
        .post("/api/auth/reauthenticate", json!({"password": PASSWORD}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let session: Value = response.json().await.unwrap();
    assert_eq!(session["proof_method"], "password");
    assert_eq!(session["current"], true);

    let response = device.post("/api/me/password", change_password).await;
    assert_eq!(response.status(), StatusCode::OK);
    // The window runs from the re-authentication.
    app.clock.advance(past_the_window());
    assert_error(
        device.delete("/api/sessions/others").await,
        StatusCode::FORBIDDEN,
        "reauthentication_required",
    )
    .await;
}

#[tokio::test]
async fn an_authenticator_code_reauthenticates_once() {
    let app = spawn_app().await;
    let device = app.user_with_one_session().await;
    let (authenticator, _) = app.turn_on_totp(&device).await;
    app.clock.advance(past_the_window());
    assert_error(
        device.delete("/api/me/totp").await,
        StatusCode::FORBIDDEN,
        "reauthentication_required",
    )
    .await;
    let code = app.code(&authenticator);
    let response = device
        .post("/api/auth/reauthenticate", json!({"code": code}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let session: Value = response.json().await.unwrap();
    assert_eq!(session["proof_method"], "totp");
    assert_error(
        device
            .post("/api/auth/reauthenticate", json!({"code": code}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_code",
    )
    .await;
    assert_eq!(device.delete("/api/me/totp").await.status(), 204);
}

#[tokio::test]
async fn reauthentication_takes_exactly_one_proof_it_can_check() {
    let app = spawn_app().await;
    let device = app.user_with_one_session().await;
    for body in [json!({}), json!({"password": PASSWORD, "code": "123456"})] {
        assert_error(
            device.post("/api/auth/reauthenticate", body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
        )
        .await;
    }
    assert_error(
        device
            .post("/api/auth/reauthenticate", json!({"code": "123456"}))
            .await,
        StatusCode::CONFLICT,
        "second_factor_not_enabled",
    )
    .await;
    assert_error(
        app.device(FIREFOX_WINDOWS)
            .post("/api/auth/reauthenticate", json!({"password": PASSWORD}))
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
}

#[tokio::test]
async fn wrong_passwords_while_reauthenticating_are_throttled() {
    let app = spawn_app_with(|settings| settings.throttle.login_max_failures = 2).await;
    let device = app.user_with_one_session().await;
    for _ in 0..2 {
        assert_error(
            device
                .post(
                    "/api/auth/reauthenticate",
                    json!({"password": "wrong guess"}),
                )
                .await,
            StatusCode::FORBIDDEN,
            "wrong_password",
        )
        .await;
    }
    assert_error(
        device
            .post("/api/auth/reauthenticate", json!({"password": PASSWORD}))
            .await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
    )
    .await;
}

#[tokio::test]
async fn the_session_list_says_how_and_when_each_session_proved_its_user() {
    let app = spawn_app().await;
    let (first, _second) = app.user_with_two_sessions().await;
    let list: Value = first.get("/api/sessions").await.json().await.unwrap();
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    for session in sessions {
        assert_eq!(session["proof_method"], "password");
        assert!(session["proved_at"].is_string());
    }
    app.clock.advance(chrono::Duration::seconds(5));
    let response = first
        .post("/api/auth/reauthenticate", json!({"password": PASSWORD}))
        .await;
    let proved: Value = response.json().await.unwrap();
    let list: Value = first.get("/api/sessions").await.json().await.unwrap();
    let current = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|session| session["current"] == true)
        .unwrap()
        .clone();
    assert_eq!(current["proved_at"], proved["proved_at"]);
    assert_ne!(current["proved_at"], current["created_at"]);
}
