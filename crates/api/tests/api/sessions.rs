use std::collections::HashSet;

use api::config::Clock;
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
    // Activity goes by whole months (`partitions`): what is younger than the retention is
    // all there.
    let cutoff = (app.clock.now() - Duration::days(30)).to_rfc3339();
    let events = app
        .sql(&format!(
            "SELECT kind FROM activity WHERE created_at >= '{cutoff}' ORDER BY id"
        ))
        .await;
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

#[tokio::test]
async fn a_token_carries_its_users_shard_key_and_one_naming_another_shard_is_refused() {
    let app = spawn_app().await;
    let first = app.user_with_one_session().await;
    let token = first.session_token(&app);
    let (prefix, random) = token.split_once('.').expect("<shard>.<random>");
    assert_eq!((prefix.len(), random.len()), (3, 43), "{token}");
    let shard = i64::from_str_radix(prefix, 16).unwrap();
    // PostgreSQL computes the same key from the row's user (SCALING.md's expression for the
    // column a split by user distributes on).
    let stored = app
        .sql(
            "SELECT ((get_byte(sha256(uuid_send(user_id)), 0) << 4) \
                     | (get_byte(sha256(uuid_send(user_id)), 1) >> 4)) AS shard FROM sessions",
        )
        .await;
    assert_eq!(stored[0]["shard"].as_i64(), Some(shard));

    // A second device's pending token carries it too.
    let second = app.device(FIREFOX_WINDOWS);
    let response = second.login("ada@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    let pending = body["pending_token"].as_str().unwrap();
    assert_eq!(pending.split_once('.').map(|(key, _)| key), Some(prefix));

    // A token whose stored hash matches but whose prefix names another shard proves
    // nothing: a router would send it elsewhere.
    let forged = format!("{:03x}.{random}", (shard + 1) % 4096);
    app.execute(&format!(
        "UPDATE sessions SET token_hash = sha256(convert_to('{forged}', 'UTF8')) \
         WHERE ended_at IS NULL"
    ))
    .await;
    first.replace_session_token(&app, &forged);
    assert_eq!(first.session_token(&app), forged);
    assert_error(
        first.me().await,
        StatusCode::UNAUTHORIZED,
        "invalid_session",
    )
    .await;
    // The same row with an honest token (the old form without a key included) works.
    for honest in [format!("{prefix}.{random}"), random.to_owned()] {
        app.execute(&format!(
            "UPDATE sessions SET token_hash = sha256(convert_to('{honest}', 'UTF8')) \
             WHERE ended_at IS NULL"
        ))
        .await;
        first.replace_session_token(&app, &honest);
        assert_eq!(first.me().await.status(), StatusCode::OK, "{honest}");
    }
}

#[tokio::test]
async fn every_key_of_a_users_rows_includes_the_user_so_a_split_by_user_keeps_them_together() {
    let app = spawn_app().await;
    // Keys that stay global, each for a reason SCALING.md gives: looked up before the user
    // is known, or rows that may belong to no user.
    let global = [
        "passkeys_credential_id_key",
        "passkey_challenges_pkey",
        "mail_outbox_pkey",
    ];
    let keys = app
        .sql(
            "SELECT c.conname AS name, c.contype::text AS kind, \
                    bool_or(a.attname = 'user_id') AS has_user \
               FROM pg_constraint c \
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) \
              WHERE c.connamespace = 'public'::regnamespace AND c.contype IN ('p', 'u', 'f') \
                AND EXISTS (SELECT 1 FROM pg_attribute u WHERE u.attrelid = c.conrelid \
                              AND u.attname = 'user_id' AND NOT u.attisdropped) \
                AND (c.contype <> 'f' OR EXISTS (SELECT 1 FROM pg_attribute r \
                       WHERE r.attrelid = c.confrelid AND r.attname = 'user_id')) \
              GROUP BY c.conname, c.contype",
        )
        .await;
    let names: HashSet<&str> = keys.iter().filter_map(|key| key["name"].as_str()).collect();
    for expected in ["sessions_pkey", "sessions_token_hash_key", "activity_pkey"] {
        assert!(
            names.contains(expected),
            "{expected} missing from {names:?}"
        );
    }
    let without_user: Vec<&str> = keys
        .iter()
        .filter(|key| key["has_user"] == false)
        .filter_map(|key| key["name"].as_str())
        .filter(|name| !global.contains(name))
        .collect();
    assert_eq!(without_user, Vec::<&str>::new(), "keys without user_id");
    // Unique indexes outside constraints: only the address, global by design.
    let unique_indexes = app
        .sql(
            "SELECT i.indexrelid::regclass::text AS name FROM pg_index i \
              JOIN pg_class t ON t.oid = i.indrelid \
             WHERE i.indisunique AND t.relnamespace = 'public'::regnamespace \
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        )
        .await;
    assert_eq!(
        unique_indexes,
        vec![json!({"name": "users_email_lower_unique"})]
    );

    // The two-column reference from an approval to the session it made: deleting that
    // session clears the reference and keeps the approval's user.
    let (_first, second) = app.user_with_two_sessions().await;
    let second_id = second.session_id().await;
    let linked = app
        .count(&format!(
            "SELECT count(*) AS n FROM login_approvals WHERE session_id = '{second_id}'"
        ))
        .await;
    assert_eq!(linked, 1);
    app.execute(&format!("DELETE FROM sessions WHERE id = '{second_id}'"))
        .await;
    let approvals = app
        .sql("SELECT session_id, user_id IS NOT NULL AS has_user FROM login_approvals")
        .await;
    assert_eq!(
        approvals,
        vec![json!({"session_id": null, "has_user": true})]
    );
}
