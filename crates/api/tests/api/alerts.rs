//! Sign-in alerts: a new device, network or country, and a correct password refused.

use api::config::LimitPolicy;
use reqwest::StatusCode;
use serde_json::Value;
use shared::ws::ServerMessage;

use crate::geoip;
use crate::support::*;

async fn activity_kinds(device: &Device) -> Vec<String> {
    let activity: Value = device
        .get("/api/activity?limit=50")
        .await
        .json()
        .await
        .unwrap();
    activity["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_sign_in_from_a_new_device_alerts_the_other_devices_and_a_known_one_does_not() {
    let app = spawn_app_with(|settings| {
        settings.session.limit_policy = LimitPolicy::Refuse;
        settings.session.max_sessions = 5;
    })
    .await;
    let first = app.user_with_one_session().await;
    let mut socket = first.session_socket().await;
    let newcomer = app.device(FIREFOX_WINDOWS);
    assert_eq!(
        newcomer.login("ada@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    let alert = next_alert(&mut socket).await;
    assert_eq!(alert.kind, "new_device");
    assert_eq!(alert.device, "Firefox 121 on Windows 10 NT 10.0 (Desktop)");
    assert_eq!(
        alert.session_id.map(|id| id.to_string()),
        Some(newcomer.session_id().await)
    );
    assert!(
        activity_kinds(&first)
            .await
            .contains(&"new_device_login".to_owned())
    );

    // The same browser and OS again (another version) is not new.
    let again = app.device(CHROME_LINUX);
    assert_eq!(
        again.login("ada@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    let kinds = activity_kinds(&first).await;
    assert_eq!(
        kinds
            .iter()
            .filter(|kind| *kind == "new_device_login")
            .count(),
        1,
        "{kinds:?}"
    );
}

#[tokio::test]
async fn a_sign_in_from_a_new_network_is_reported() {
    let app = spawn_app_with(|settings| {
        settings.session.limit_policy = LimitPolicy::Refuse;
        settings.server.trust_proxy = true;
    })
    .await;
    let home = app.device_at(CHROME_LINUX, "203.0.113.9");
    assert_eq!(
        home.post(
            "/api/auth/signup",
            serde_json::json!({"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}),
        )
        .await
        .status(),
        StatusCode::CREATED
    );
    let mut socket = home.session_socket().await;
    // Same /24: the same network.
    let neighbour = app.device_at(CHROME_LINUX, "203.0.113.77");
    assert_eq!(
        neighbour.login("ada@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    neighbour
        .post("/api/auth/logout", serde_json::json!({}))
        .await;
    let elsewhere = app.device_at(CHROME_LINUX, "198.51.100.7");
    assert_eq!(
        elsewhere.login("ada@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    let alert = next_alert(&mut socket).await;
    assert_eq!(alert.kind, "new_device");
    assert_eq!(alert.ip, "198.51.100.7");
    let activity: Value = home
        .get("/api/activity?limit=50")
        .await
        .json()
        .await
        .unwrap();
    let entries: Vec<&Value> = activity["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["kind"] == "new_device_login")
        .collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["detail"], "new network");
}

#[tokio::test]
async fn a_sign_in_from_a_new_country_is_reported_with_the_place_everywhere() {
    let database = geoip::test_database();
    let app = spawn_app_with(move |settings| {
        settings.server.trust_proxy = true;
        settings.session.max_sessions = 3;
        settings.server.geoip_db = Some(database);
    })
    .await;
    let home = app.device_at(CHROME_LINUX, "81.2.69.10");
    assert_eq!(
        home.post(
            "/api/auth/signup",
            serde_json::json!({"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}),
        )
        .await
        .status(),
        StatusCode::CREATED
    );
    let mut socket = home.session_socket().await;
    // A request from Sweden: the prompt says where it comes from.
    let traveller = app.device_at(FIREFOX_WINDOWS, "89.160.20.5");
    let response = traveller.login("ada@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    let ServerMessage::ApprovalRequested { approval } = next_server_message(&mut socket).await
    else {
        panic!("a prompt")
    };
    assert_eq!(approval.country.as_deref(), Some("SE"));
    let approve = home
        .post(
            &format!(
                "/api/approvals/{}/approve",
                body["approval_id"].as_str().unwrap()
            ),
            serde_json::json!({"code": body["code"]}),
        )
        .await;
    assert_eq!(approve.status(), StatusCode::OK);
    let complete = traveller
        .post(
            &format!(
                "/api/login/approvals/{}/complete",
                body["approval_id"].as_str().unwrap()
            ),
            serde_json::json!({"pending_token": body["pending_token"]}),
        )
        .await;
    assert_eq!(complete.status(), StatusCode::OK);

    let sessions: Value = home.get("/api/sessions").await.json().await.unwrap();
    let countries: Vec<&str> = sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|session| session["country"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(countries, vec!["FR", "SE"]);
    let history: Value = home
        .get("/api/sessions/history")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(history["items"][0]["country"], "SE");
    let activity: Value = home
        .get("/api/activity?limit=50")
        .await
        .json()
        .await
        .unwrap();
    let country_entry = activity["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["kind"] == "new_country_login")
        .expect("recorded")
        .clone();
    assert_eq!(country_entry["detail"], "SE");
    assert_eq!(country_entry["ip"], "89.160.20.5");
}

#[tokio::test]
async fn a_correct_password_refused_at_the_limit_is_not_silent() {
    let app = spawn_app().await;
    let (first, _second) = app.user_with_two_sessions().await;
    let mut socket = first.session_socket().await;
    let intruder = app.device(SAFARI_IPHONE);
    assert_error(
        intruder.login("ada@example.com", PASSWORD).await,
        StatusCode::CONFLICT,
        "session_limit",
    )
    .await;
    let alert = next_alert(&mut socket).await;
    assert_eq!(alert.kind, "login_refused");
    assert_eq!(alert.device, "Safari 17 on iPhone 17.0 (Phone)");
    assert_eq!(alert.session_id, None);
    let activity: Value = first
        .get("/api/activity?limit=1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(activity["items"][0]["kind"], "login_refused");
    assert_eq!(activity["items"][0]["detail"], "Already 2 sessions active");
}

#[tokio::test]
async fn a_correct_password_refused_by_the_pending_cap_is_not_silent_either() {
    let app = spawn_app().await;
    let first = app.user_with_one_session().await;
    let mut socket = first.session_socket().await;
    for _ in 0..3 {
        app.pending_approval("ada@example.com", FIREFOX_WINDOWS)
            .await;
    }
    assert_error(
        app.device(FIREFOX_WINDOWS)
            .login("ada@example.com", PASSWORD)
            .await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_pending_approvals",
    )
    .await;
    assert_eq!(next_alert(&mut socket).await.kind, "login_refused");
}
