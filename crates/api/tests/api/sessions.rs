use std::collections::HashSet;

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn the_session_list_shows_active_sessions_with_the_current_one_flagged() {
    let app = spawn_app().await;
    let first = app.user_with_one_session().await;
    let second = app
        .second_device(&first, "ada@example.com", SAFARI_IPHONE)
        .await;
    let list: Value = second.get("/api/sessions").await.json().await.unwrap();
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    let current: Vec<&Value> = sessions
        .iter()
        .filter(|session| session["current"] == true)
        .collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["device"], "Phone");
    assert_eq!(current[0]["browser"], "Safari 17");
    assert_eq!(current[0]["id"], second.session_id().await);
}

#[tokio::test]
async fn a_revoked_session_is_refused_on_its_very_next_request() {
    let app = spawn_app().await;
    let (first, second) = app.user_with_two_sessions().await;
    let second_id = second.session_id().await;
    assert_eq!(
        first
            .delete(&format!("/api/sessions/{second_id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        second.me().await,
        StatusCode::UNAUTHORIZED,
        "invalid_session",
    )
    .await;
    // Twice is not found: it is no longer active.
    assert_error(
        first.delete(&format!("/api/sessions/{second_id}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let list: Value = first.get("/api/sessions").await.json().await.unwrap();
    assert_eq!(list["sessions"].as_array().unwrap().len(), 1);
    let activity: Value = first.get("/api/activity").await.json().await.unwrap();
    assert_eq!(activity["items"][0]["kind"], "session_revoked");
    assert_eq!(activity["items"][0]["session_id"], second_id);
}

#[tokio::test]
async fn nobody_can_revoke_another_users_session() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada@example.com").await;
    let bob = app.signed_up("bob@example.com").await;
    let ada_session = ada.session_id().await;
    assert_error(
        bob.delete(&format!("/api/sessions/{ada_session}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(ada.me().await.status(), StatusCode::OK);
}

#[tokio::test]
async fn signing_out_all_other_devices_keeps_only_this_one() {
    let app = spawn_app_with(|settings| settings.session.max_sessions = 3).await;
    let (first, second) = app.user_with_two_sessions().await;
    let third = app
        .second_device(&first, "ada@example.com", SAFARI_IPHONE)
        .await;
    let response = first.delete("/api/sessions/others").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"revoked": 2})
    );
    assert_error(
        second.me().await,
        StatusCode::UNAUTHORIZED,
        "invalid_session",
    )
    .await;
    assert_error(
        third.me().await,
        StatusCode::UNAUTHORIZED,
        "invalid_session",
    )
    .await;
    assert_eq!(first.me().await.status(), StatusCode::OK);
    assert_eq!(app.active_sessions_in_db().await, 1);
}

#[tokio::test]
async fn a_session_unused_for_the_idle_timeout_expires() {
    let app = spawn_app().await;
    let device = app.signed_up("ada@example.com").await;
    app.clock.advance(Duration::minutes(59));
    assert_eq!(
        device.me().await.status(),
        StatusCode::OK,
        "59 minutes is within the hour"
    );
    // That request counted as activity: another 59 minutes are fine again.
    app.clock.advance(Duration::minutes(59));
    assert_eq!(device.me().await.status(), StatusCode::OK);
    app.clock.advance(Duration::minutes(61));
    let body = assert_error(
        device.me().await,
        StatusCode::UNAUTHORIZED,
        "session_expired",
    )
    .await;
    assert_eq!(body["error"], "Session expired");
    // It stays expired, and the log says why.
    assert_error(
        device.me().await,
        StatusCode::UNAUTHORIZED,
        "session_expired",
    )
    .await;
    let rows = app.sql("SELECT end_reason, ended_at = last_seen_at + interval '60 minutes' AS exact FROM sessions").await;
    assert_eq!(rows[0]["end_reason"], "idle_timeout");
    assert_eq!(rows[0]["exact"], true, "ended_at is the moment it lapsed");
    let events = app
        .sql("SELECT kind, detail FROM activity ORDER BY id DESC LIMIT 1")
        .await;
    assert_eq!(
        events[0],
        json!({"kind": "session_expired", "detail": "idle_timeout"})
    );
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_lifetime_even_when_used() {
    let app = spawn_app_with(|settings| {
        settings.session.absolute_lifetime = std::time::Duration::from_secs(3 * 3600)
    })
    .await;
    let device = app.signed_up("ada@example.com").await;
    for _ in 0..5 {
        app.clock.advance(Duration::minutes(30));
        assert_eq!(device.me().await.status(), StatusCode::OK);
    }
    app.clock.advance(Duration::minutes(31));
    assert_error(
        device.me().await,
        StatusCode::UNAUTHORIZED,
        "session_expired",
    )
    .await;
    let rows = app.sql("SELECT end_reason FROM sessions").await;
    assert_eq!(rows[0]["end_reason"], "lifetime_exceeded");
}

#[tokio::test]
async fn last_seen_is_written_at_most_once_a_minute() {
    let app = spawn_app().await;
    let device = app.signed_up("ada@example.com").await;
    let last_seen = || async {
        app.sql("SELECT last_seen_at::text AS at FROM sessions")
            .await[0]["at"]
            .clone()
    };
    let initial = last_seen().await;
    for _ in 0..5 {
        device.me().await;
    }
    assert_eq!(last_seen().await, initial);
    app.clock.advance(Duration::seconds(61));
    device.me().await;
    assert_ne!(last_seen().await, initial);
}

#[tokio::test]
async fn the_sweeper_ends_lapsed_sessions_nobody_presents_again() {
    let app = spawn_app().await;
    let device = app.signed_up("ada@example.com").await;
    app.clock.advance(Duration::minutes(61));
    app.sweep().await;
    assert_eq!(app.active_sessions_in_db().await, 0);
    let rows = app.sql("SELECT end_reason FROM sessions").await;
    assert_eq!(rows[0]["end_reason"], "idle_timeout");
    assert_error(
        device.me().await,
        StatusCode::UNAUTHORIZED,
        "session_expired",
    )
    .await;
    // With nothing active, the next login needs no approval.
    assert_eq!(
        app.device(FIREFOX_WINDOWS)
            .login("ada@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_session_log_pages_through_every_past_session_with_a_cursor() {
    let app = spawn_app().await;
    let device = app.signed_up("ada@example.com").await;
    for _ in 0..6 {
        assert_eq!(
            device.post("/api/auth/logout", json!({})).await.status(),
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            device.login("ada@example.com", PASSWORD).await.status(),
            StatusCode::OK
        );
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/api/sessions/history?limit=3&cursor={cursor}"),
            None => "/api/sessions/history?limit=3".to_owned(),
        };
        let page: Value = device.get(&path).await.json().await.unwrap();
        pages += 1;
        for item in page["items"].as_array().unwrap() {
            seen.push(item.clone());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 7);
    let ids: HashSet<&str> = seen
        .iter()
        .map(|item| item["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 7, "no session twice");
    // Newest first: the current session leads, the rest ended by logout.
    assert_eq!(seen[0]["current"], true);
    assert_eq!(seen[0]["active"], true);
    for item in &seen[1..] {
        assert_eq!(item["end_reason"], "logout");
        assert_eq!(item["active"], false);
        assert!(item["ended_at"].is_string());
        assert_eq!(item["ip"], "127.0.0.1");
        assert_eq!(item["browser"], "Chrome 120");
    }
}

#[tokio::test]
async fn the_activity_log_pages_newest_first() {
    let app = spawn_app().await;
    let device = app.signed_up("ada@example.com").await;
    for _ in 0..3 {
        device.post("/api/auth/logout", json!({})).await;
        device.login("ada@example.com", PASSWORD).await;
    }
    let first: Value = device
        .get("/api/activity?limit=5")
        .await
        .json()
        .await
        .unwrap();
    let items = first["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert_eq!(items[0]["kind"], "login");
    assert_eq!(items[1]["kind"], "logout");
    let cursor = first["next_cursor"].as_str().unwrap();
    let second: Value = device
        .get(&format!("/api/activity?limit=5&cursor={cursor}"))
        .await
        .json()
        .await
        .unwrap();
    let rest: Vec<&str> = second["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["kind"].as_str().unwrap())
        .collect();
    assert_eq!(rest, vec!["logout", "login", "signup"]);
    assert!(second["next_cursor"].is_null());
}

#[tokio::test]
async fn the_sweeper_purges_history_older_than_the_retention() {
    let app = spawn_app_with(|settings| {
        settings.retention.history = std::time::Duration::from_secs(30 * 24 * 3600)
    })
    .await;
    // Day 0: one session ended by logout, another left open (it lapses an hour later).
    let first = app.user_with_one_session().await;
    // Confirmed: an account never confirmed nor used for a week would go altogether.
    app.execute("UPDATE users SET email_verified_at = now()")
        .await;
    first.post("/api/auth/logout", json!({})).await;
    let second = app.device(FIREFOX_WINDOWS);
    assert_eq!(
        second.login("ada@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    // Day 20: a sweep ends the second; a third session starts.
    app.clock.advance(Duration::days(20));
    app.sweep().await;
    let third = app.device(SAFARI_IPHONE);
    assert_eq!(
        third.login("ada@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    // Day 31: what ended, or happened, more than 30 days ago is gone; the rest stays.
    app.clock.advance(Duration::days(11));
    app.sweep().await;
    let sessions = app.sql("SELECT browser, end_reason FROM sessions").await;
    assert_eq!(
        sessions,
        vec![json!({"browser": "Safari 17", "end_reason": "idle_timeout"})]
    );
    let events = app.sql("SELECT kind FROM activity ORDER BY id").await;
    let kinds: Vec<&str> = events
        .iter()
        .map(|event| event["kind"].as_str().unwrap())
        .collect();
    // (Safari on an iPhone is a device the account had not signed in from: an alert entry.)
    assert_eq!(
        kinds,
        vec![
            "session_expired",
            "login",
            "new_device_login",
            "session_expired"
        ]
    );
}

#[tokio::test]
async fn every_foreign_key_has_an_index_so_that_purging_sessions_stays_linear() {
    let app = spawn_app().await;
    let unindexed = app
        .sql(
            "SELECT c.conrelid::regclass::text AS table_name, a.attname::text AS column_name \
             FROM pg_constraint c \
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
             WHERE c.contype = 'f' AND NOT EXISTS ( \
               SELECT 1 FROM pg_index i \
               WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])",
        )
        .await;
    assert!(
        unindexed.is_empty(),
        "foreign keys without an index: {unindexed:?}"
    );
}

#[tokio::test]
async fn purging_old_history_deletes_sessions_that_ended_others() {
    let app = spawn_app().await;
    let (first, second) = app.user_with_two_sessions().await;
    let second_id = second.session_id().await;
    assert_eq!(
        first
            .delete(&format!("/api/sessions/{second_id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    first.post("/api/auth/logout", json!({})).await;
    // Confirmed: an account never confirmed nor used for a week would go altogether.
    app.execute("UPDATE users SET email_verified_at = now()")
        .await;
    // Past the retention (365 days by default), both ended sessions go.
    app.clock.advance(Duration::days(400));
    app.sweep().await;
    let left = app.sql("SELECT count(*) AS n FROM sessions").await;
    assert_eq!(left[0]["n"], 0);
}
