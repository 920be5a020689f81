//! The limit policies (`LIMIT_POLICY`), prompt fatigue, and requests ended by a password
//! change or by time.

use std::time::Duration;

use api::config::LimitPolicy;
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::ws::{PendingMessage, ServerMessage};

use crate::support::*;

async fn with_policy(policy: LimitPolicy, max_sessions: i64) -> TestApp {
    spawn_app_with(move |settings| {
        settings.session.limit_policy = policy;
        settings.session.max_sessions = max_sessions;
    })
    .await
}

async fn log_in(app: &TestApp, user_agent: &'static str) -> Device {
    let device = app.device(user_agent);
    let response = device.login("ada@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    device
}

#[tokio::test]
async fn refuse_lets_devices_in_up_to_the_limit_and_then_only_says_no() {
    let app = with_policy(LimitPolicy::Refuse, 2).await;
    let first = app.user_with_one_session().await;
    // No approval below the limit.
    let _second = log_in(&app, FIREFOX_WINDOWS).await;
    let body = assert_error(
        app.device(SAFARI_IPHONE)
            .login("ada@example.com", PASSWORD)
            .await,
        StatusCode::CONFLICT,
        "session_limit",
    )
    .await;
    assert_eq!(body["error"], "Already 2 sessions active");
    assert_eq!(app.active_sessions_in_db().await, 2);
    assert_eq!(first.me().await.status(), StatusCode::OK);
    let config: Value = first.get("/api/config").await.json().await.unwrap();
    assert_eq!(config["limit_policy"], "refuse");
    assert_eq!(config["max_sessions"], 2);
}

#[tokio::test]
async fn evict_oldest_ends_the_least_recently_used_session_and_tells_it_why() {
    let app = with_policy(LimitPolicy::EvictOldest, 3).await;
    let first = app.user_with_one_session().await;
    let second = log_in(&app, FIREFOX_WINDOWS).await;
    let third = log_in(&app, SAFARI_IPHONE).await;
    let mut second_socket = second.session_socket().await;
    // The others are used again later: the second is now the least recently used.
    app.clock.advance(chrono::Duration::minutes(5));
    assert_eq!(first.me().await.status(), StatusCode::OK);
    assert_eq!(third.me().await.status(), StatusCode::OK);

    let fourth = log_in(&app, CHROME_LINUX).await;
    let ServerMessage::SessionRevoked {
        reason,
        replaced_by,
    } = next_revocation(&mut second_socket).await
    else {
        panic!("the replaced session is told")
    };
    assert_eq!(reason, "replaced");
    let replaced_by = replaced_by.expect("by which login");
    assert_eq!(replaced_by.device, "Chrome 120 on Linux (Desktop)");
    assert_eq!(closed(&mut second_socket).await, Some(1008));
    let body = assert_error(
        second.me().await,
        StatusCode::UNAUTHORIZED,
        "session_replaced",
    )
    .await;
    assert!(
        body["error"].as_str().unwrap().starts_with(
            "You were signed out because your account signed in on Chrome 120 on Linux"
        ),
        "{body}"
    );
    for device in [&first, &third, &fourth] {
        assert_eq!(device.me().await.status(), StatusCode::OK);
    }
    assert_eq!(app.active_sessions_in_db().await, 3);
    let history: Value = first
        .get("/api/sessions/history")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        history["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|item| item["end_reason"] == "replaced")
    );
}

#[tokio::test]
async fn single_ends_the_previous_session_at_every_login() {
    let app = with_policy(LimitPolicy::Single, 5).await;
    let first = app.user_with_one_session().await;
    let mut socket = first.session_socket().await;
    let second = log_in(&app, FIREFOX_WINDOWS).await;
    assert!(matches!(
        next_revocation(&mut socket).await,
        ServerMessage::SessionRevoked { reason, replaced_by: Some(_) } if reason == "replaced"
    ));
    assert_error(
        first.me().await,
        StatusCode::UNAUTHORIZED,
        "session_replaced",
    )
    .await;
    assert_eq!(second.me().await.status(), StatusCode::OK);
    assert_eq!(app.active_sessions_in_db().await, 1);
    let config: Value = second.get("/api/config").await.json().await.unwrap();
    assert_eq!(config["max_sessions"], 1, "single means one");
}

#[tokio::test]
async fn fifty_parallel_logins_never_leave_more_than_the_limit_under_any_policy() {
    for (policy, max) in [
        (LimitPolicy::Approve, 2),
        (LimitPolicy::Refuse, 3),
        (LimitPolicy::EvictOldest, 3),
        (LimitPolicy::Single, 3),
    ] {
        let app = spawn_app_with(move |settings| {
            settings.session.limit_policy = policy;
            settings.session.max_sessions = max;
            settings.approval.max_pending = 100;
            settings.approval.max_requests_per_hour = 1000;
            // 50 logins at once from one address with the right password: not a guessing
            // run (every attempt holds a throttling slot while it is checked).
            settings.throttle.login_max_failures_per_ip = 1000;
            settings.throttle.login_max_failures = 1000;
        })
        .await;
        app.user_with_one_session().await;
        let devices: Vec<Device> = (0..50).map(|_| app.device(FIREFOX_WINDOWS)).collect();
        let statuses: Vec<StatusCode> = join_all(
            devices
                .iter()
                .map(|device| device.login("ada@example.com", PASSWORD)),
        )
        .await
        .iter()
        .map(reqwest::Response::status)
        .collect();
        let limit = if policy == LimitPolicy::Single {
            1
        } else {
            max
        };
        let active = app.active_sessions_in_db().await;
        assert!(active <= limit, "{policy:?}: {active} active");
        let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
        match policy {
            LimitPolicy::Approve => assert_eq!(ok, 0, "{statuses:?}"),
            LimitPolicy::Refuse => assert_eq!(ok, 2, "{statuses:?}"),
            LimitPolicy::EvictOldest | LimitPolicy::Single => {
                assert_eq!(ok, 50, "{statuses:?}");
                assert_eq!(active, limit);
            }
        }
    }
}

#[tokio::test]
async fn requests_are_capped_per_hour_per_account() {
    let app = spawn_app_with(|settings| {
        settings.approval.max_requests_per_hour = 3;
        // The first device stays signed in across the hour the test skips.
        settings.session.idle_timeout = Duration::from_secs(3 * 3600);
    })
    .await;
    let first = app.user_with_one_session().await;
    for _ in 0..3 {
        let waiting = app
            .pending_approval("ada@example.com", FIREFOX_WINDOWS)
            .await;
        waiting
            .device
            .post(
                &format!("/api/login/approvals/{}/cancel", waiting.id),
                json!({"pending_token": waiting.token}),
            )
            .await;
    }
    let response = app
        .device(FIREFOX_WINDOWS)
        .login("ada@example.com", PASSWORD)
        .await;
    let retry_after = retry_after_secs(&response);
    assert!((3500..=3600).contains(&retry_after), "{retry_after}");
    assert_error(
        response,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_approval_requests",
    )
    .await;
    // The refusal confirmed the password to whoever sent it: the account hears of it.
    let activity: Value = first
        .get("/api/activity?limit=1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(activity["items"][0]["kind"], "login_refused");
    app.clock.advance(chrono::Duration::minutes(61));
    assert_eq!(
        app.device(FIREFOX_WINDOWS)
            .login("ada@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn after_a_denial_new_requests_wait_for_the_cool_down() {
    let app = spawn_app().await;
    let first = app.user_with_one_session().await;
    let waiting = app
        .pending_approval("ada@example.com", FIREFOX_WINDOWS)
        .await;
    first
        .post(&format!("/api/approvals/{}/deny", waiting.id), json!({}))
        .await;
    let response = waiting.device.login("ada@example.com", PASSWORD).await;
    let retry_after = retry_after_secs(&response);
    assert!((1..=300).contains(&retry_after), "{retry_after}");
    assert_error(
        response,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_approval_requests",
    )
    .await;
    app.clock.advance(chrono::Duration::minutes(6));
    assert_eq!(
        waiting
            .device
            .login("ada@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn this_wasnt_me_denies_cancels_the_other_requests_and_alerts_every_device() {
    let app = spawn_app_with(|settings| settings.session.max_sessions = 3).await;
    let first = app.user_with_one_session().await;
    let second = app
        .second_device(&first, "ada@example.com", SAFARI_IPHONE)
        .await;
    let mut second_socket = second.session_socket().await;
    let attacker = app
        .pending_approval("ada@example.com", FIREFOX_WINDOWS)
        .await;
    let other = app
        .pending_approval("ada@example.com", FIREFOX_WINDOWS)
        .await;
    let mut other_socket = other.socket().await;
    next_pending_message(&mut other_socket).await;

    let deny = first
        .post(
            &format!("/api/approvals/{}/deny", attacker.id),
            json!({"suspicious": true}),
        )
        .await;
    assert_eq!(deny.status(), StatusCode::OK);
    assert_eq!(
        next_pending_message(&mut other_socket).await,
        PendingMessage::Cancelled
    );
    let alert = next_alert(&mut second_socket).await;
    assert_eq!(alert.kind, "suspicious_login_denied");
    assert_eq!(alert.device, "Firefox 121 on Windows 10 NT 10.0 (Desktop)");
    assert_eq!(alert.ip, "127.0.0.1");
    let pending: Value = first.get("/api/approvals").await.json().await.unwrap();
    assert_eq!(pending["approvals"], json!([]));
    let activity: Value = first
        .get("/api/activity?limit=10")
        .await
        .json()
        .await
        .unwrap();
    let entry = activity["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["kind"] == "suspicious_login_denied")
        .expect("recorded")
        .clone();
    assert_eq!(entry["ip"], "127.0.0.1");
    assert_eq!(
        entry["device"],
        "Firefox 121 on Windows 10 NT 10.0 (Desktop)"
    );
}

#[tokio::test]
async fn a_password_change_ends_requests_in_flight_pending_or_approved() {
    let app = spawn_app_with(|settings| settings.session.max_sessions = 3).await;
    let first = app.user_with_one_session().await;
    let pending = app
        .pending_approval("ada@example.com", FIREFOX_WINDOWS)
        .await;
    let approved = app.pending_approval("ada@example.com", SAFARI_IPHONE).await;
    assert_eq!(approved.approve_from(&first).await.status(), StatusCode::OK);
    let mut pending_socket = pending.socket().await;
    next_pending_message(&mut pending_socket).await;

    let change = first
        .post(
            "/api/me/password",
            json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"}),
        )
        .await;
    assert_eq!(change.status(), StatusCode::OK);
    assert_eq!(
        next_pending_message(&mut pending_socket).await,
        PendingMessage::Cancelled
    );
    assert_error(
        approved.complete().await,
        StatusCode::GONE,
        "approval_cancelled",
    )
    .await;
    assert_eq!(app.active_sessions_in_db().await, 1);
}

#[tokio::test]
async fn signing_out_the_other_devices_ends_requests_in_flight_too() {
    let app = spawn_app().await;
    let first = app.user_with_one_session().await;
    let pending = app
        .pending_approval("ada@example.com", FIREFOX_WINDOWS)
        .await;
    let response = first.delete("/api/sessions/others").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_error(
        pending.complete().await,
        StatusCode::GONE,
        "approval_cancelled",
    )
    .await;
}

#[tokio::test]
async fn an_approved_request_not_completed_in_time_expires_and_frees_its_slot() {
    let app = spawn_app().await;
    let first = app.user_with_one_session().await;
    let waiting = app
        .pending_approval("ada@example.com", FIREFOX_WINDOWS)
        .await;
    let mut socket = waiting.socket().await;
    next_pending_message(&mut socket).await;
    assert_eq!(waiting.approve_from(&first).await.status(), StatusCode::OK);
    assert_eq!(
        next_pending_message(&mut socket).await,
        PendingMessage::Approved
    );
    // The reserved session holds the second slot.
    assert_eq!(app.active_sessions_in_db().await, 2);
    assert_error(
        app.device(SAFARI_IPHONE)
            .login("ada@example.com", PASSWORD)
            .await,
        StatusCode::CONFLICT,
        "session_limit",
    )
    .await;

    app.clock.advance(chrono::Duration::minutes(3));
    app.sweep().await;
    assert_eq!(
        next_pending_message(&mut socket).await,
        PendingMessage::Expired
    );
    assert_eq!(app.active_sessions_in_db().await, 1);
    assert_error(
        waiting.complete().await,
        StatusCode::GONE,
        "approval_expired",
    )
    .await;
    // The slot is free again.
    assert_eq!(
        app.device(SAFARI_IPHONE)
            .login("ada@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    let history = app
        .sql("SELECT end_reason FROM sessions WHERE end_reason IS NOT NULL")
        .await;
    assert_eq!(history, vec![json!({"end_reason": "not_completed"})]);
}

#[tokio::test]
async fn an_approved_request_completed_after_its_deadline_is_refused_without_waiting_for_a_sweep() {
    let app = spawn_app().await;
    let first = app.user_with_one_session().await;
    let waiting = app
        .pending_approval("ada@example.com", FIREFOX_WINDOWS)
        .await;
    let mut socket = waiting.socket().await;
    next_pending_message(&mut socket).await;
    assert_eq!(waiting.approve_from(&first).await.status(), StatusCode::OK);
    assert_eq!(
        next_pending_message(&mut socket).await,
        PendingMessage::Approved
    );
    assert_eq!(app.active_sessions_in_db().await, 2);

    // Past the time to complete (`APPROVAL_TTL_SECS`), and no sweep has run.
    app.clock.advance(chrono::Duration::minutes(3));
    assert_error(
        waiting.complete().await,
        StatusCode::GONE,
        "approval_expired",
    )
    .await;
    // As if the sweeper had come: the waiting device hears it, the session kept for the
    // request ends and its slot is free.
    assert_eq!(
        next_pending_message(&mut socket).await,
        PendingMessage::Expired
    );
    assert_eq!(app.active_sessions_in_db().await, 1);
    let history = app
        .sql("SELECT end_reason FROM sessions WHERE end_reason IS NOT NULL")
        .await;
    assert_eq!(history, vec![json!({"end_reason": "not_completed"})]);
    assert_error(
        waiting.complete().await,
        StatusCode::GONE,
        "approval_expired",
    )
    .await;
    assert_eq!(
        app.device(SAFARI_IPHONE)
            .login("ada@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn a_young_session_cannot_take_over_from_an_older_one_until_it_has_aged() {
    let app = spawn_app_with(|settings| {
        settings.session.max_sessions = 3;
        settings.session.fresh_session = Duration::from_secs(24 * 3600);
        // Everyone stays signed in across the day the test skips.
        settings.session.idle_timeout = Duration::from_secs(48 * 3600);
    })
    .await;
    let (first, second) = app.user_with_two_sessions().await;
    let first_id = first.session_id().await;

    let revoke = second.delete(&format!("/api/sessions/{first_id}")).await;
    let retry_after = retry_after_secs(&revoke);
    assert!((86_000..=86_400).contains(&retry_after), "{retry_after}");
    let body = assert_error(revoke, StatusCode::FORBIDDEN, "session_too_new").await;
    assert!(
        body["error"].as_str().unwrap().contains("too new"),
        "{body}"
    );
    assert_error(
        second.delete("/api/sessions/others").await,
        StatusCode::FORBIDDEN,
        "session_too_new",
    )
    .await;
    assert_error(
        second
            .post(
                "/api/me/password",
                json!({"current_password": PASSWORD, "new_password": "taken over now"}),
            )
            .await,
        StatusCode::FORBIDDEN,
        "session_too_new",
    )
    .await;
    assert_eq!(first.me().await.status(), StatusCode::OK);

    // A day later it may.
    app.clock.advance(chrono::Duration::hours(25));
    assert_eq!(first.me().await.status(), StatusCode::OK);
    assert_eq!(second.me().await.status(), StatusCode::OK);
    let third = app
        .second_device(&first, "ada@example.com", SAFARI_IPHONE)
        .await;
    // Older sessions can always end younger ones.
    let third_id = third.session_id().await;
    assert_eq!(
        first
            .delete(&format!("/api/sessions/{third_id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        second
            .delete(&format!("/api/sessions/{first_id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn a_young_session_is_told_when_it_may_retry_by_the_apps_clock() {
    let app = spawn_app_with(|settings| {
        settings.session.max_sessions = 3;
        settings.session.fresh_session = Duration::from_secs(24 * 3600);
        settings.session.idle_timeout = Duration::from_secs(48 * 3600);
    })
    .await;
    let first = app.user_with_one_session().await;
    let second = app
        .second_device(&first, "ada@example.com", FIREFOX_WINDOWS)
        .await;
    // Ten hours pass on the app's clock: fourteen are left, whatever the wall clock says.
    app.clock.advance(chrono::Duration::hours(10));
    let refused = second.delete("/api/sessions/others").await;
    let retry_after = retry_after_secs(&refused);
    assert!(
        (14 * 3600 - 400..=14 * 3600).contains(&retry_after),
        "{retry_after}"
    );
    assert_error(refused, StatusCode::FORBIDDEN, "session_too_new").await;
}
