//! Partitioned history: the activity log by month, login slots by hour. The sweeper makes
//! partitions ahead of the (injectable) clock, moves rows that landed in the DEFAULT
//! partition into the partition it makes for them, and drops whole partitions past their
//! retention, never a row inside it.

use api::config::Clock;
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

/// The partitions of a table, by name, oldest first (the DEFAULT one last).
async fn partitions_of(app: &TestApp, table: &str) -> Vec<String> {
    app.sql(&format!(
        "SELECT c.relname::text AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = '{table}'::regclass ORDER BY c.relname"
    ))
    .await
    .into_iter()
    .map(|row| row["name"].as_str().unwrap().to_owned())
    .collect()
}

/// The name of the partition of `table` holding `at`, as the migration's function names it.
fn partition_name(table: &str, unit: &str, at: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::{Datelike, Timelike};
    match unit {
        "month" => format!("{table}_{:04}{:02}01t00", at.year(), at.month()),
        _ => format!(
            "{table}_{:04}{:02}{:02}t{:02}",
            at.year(),
            at.month(),
            at.day(),
            at.hour()
        ),
    }
}

#[tokio::test]
async fn the_sweeper_makes_partitions_ahead_and_drops_expired_ones_losing_nothing_retained() {
    let app = spawn_app().await;
    let first = app.user_with_one_session().await;
    // Confirmed: an account never confirmed nor used for a week would go altogether.
    app.execute("UPDATE users SET email_verified_at = now()")
        .await;
    first.post("/api/auth/logout", json!({})).await;
    let start = app.clock.now();
    let day_zero = app.count("SELECT count(*) AS n FROM activity").await;
    assert!(day_zero >= 2, "signup and logout are logged");

    // A pass makes the month two months ahead and the next hours.
    app.sweep().await;
    let activity = partitions_of(&app, "activity").await;
    for at in [start, start + Duration::days(60)] {
        assert!(activity.contains(&partition_name("activity", "month", at)));
    }
    let slots = partitions_of(&app, "login_attempts").await;
    assert!(slots.contains(&partition_name(
        "login_attempts",
        "hour",
        start + Duration::hours(2)
    )));

    // Day 200: nothing was made this far ahead, so a login and a wrong password land in the
    // DEFAULT partitions; the next pass moves them into the partitions it makes.
    app.clock.advance(Duration::days(200));
    let second = app.device(FIREFOX_WINDOWS);
    assert_eq!(
        second
            .login("ada@example.com", "wrong password")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        second.login("ada@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    let in_default = "SELECT (SELECT count(*) FROM partitions.activity_default) \
                      + (SELECT count(*) FROM partitions.login_attempts_default) AS n";
    assert!(app.count(in_default).await > 0);
    let logged = app.count("SELECT count(*) AS n FROM activity").await;
    let slots_taken = app.count("SELECT count(*) AS n FROM login_attempts").await;
    assert!(slots_taken > 0, "the wrong password keeps its slots");
    app.sweep().await;
    assert_eq!(app.count(in_default).await, 0);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM activity").await,
        logged
    );
    assert!(
        partitions_of(&app, "activity")
            .await
            .contains(&partition_name("activity", "month", app.clock.now()))
    );

    // Two hours later the slots left every throttle window (an hour at most): their
    // partition is dropped, and no more than the hours still needed are kept.
    app.clock.advance(Duration::hours(2));
    app.sweep().await;
    assert_eq!(
        app.count("SELECT count(*) AS n FROM login_attempts").await,
        0
    );
    let hours = partitions_of(&app, "login_attempts").await;
    assert!(hours.len() <= 7, "hourly partitions pile up: {hours:?}");

    // Day 430: day zero is more than the retention (365 days) and its month ago: its
    // partition is gone; everything since day 200 is still there.
    app.clock.advance(Duration::days(230));
    let since_day_200 = logged - day_zero;
    app.sweep().await;
    let activity = partitions_of(&app, "activity").await;
    assert!(!activity.contains(&partition_name("activity", "month", start)));
    assert!(
        activity.len() <= 16,
        "monthly partitions pile up: {activity:?}"
    );
    let cutoff = (app.clock.now() - Duration::days(365)).to_rfc3339();
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM activity WHERE created_at < '{cutoff}'"
        ))
        .await,
        0
    );
    assert!(
        app.count("SELECT count(*) AS n FROM activity").await >= since_day_200,
        "an entry inside the retention was lost"
    );
}

#[tokio::test]
async fn making_a_partition_while_logins_take_their_slots_fails_neither() {
    let app = spawn_app_with(|settings| settings.throttle.passkey_sign_in_max_per_ip = 1_000).await;
    let stranger = app.device(FIREFOX_WINDOWS);
    let start_passkey_sign_in = || async {
        stranger
            .post("/api/auth/passkey/start", json!({}))
            .await
            .status()
    };
    // The pass of the app's start is over (it would hold the sweeper's lock).
    app.sweep().await;
    for round in 0..6 {
        // Four hours on: no partition holds the hour (they are made three ahead), so the
        // first slots land in the DEFAULT partition and the pass must move them out of it
        // while more slots are taken through the parent.
        app.clock.advance(Duration::hours(4));
        assert_eq!(start_passkey_sign_in().await, StatusCode::OK);
        let slots_meanwhile =
            futures_util::future::join_all((0..16).map(|_| start_passkey_sign_in()));
        let (swept, statuses) =
            tokio::join!(api::services::sweeper::sweep(&app.state), slots_meanwhile);
        let swept = swept.expect("the pass runs");
        assert!(
            statuses.iter().all(|status| *status == StatusCode::OK),
            "round {round}: {statuses:?}"
        );
        assert!(swept.ran, "round {round}: another pass held the lock");
        assert!(
            swept.partitions_created > 0,
            "round {round}: the partitions were not made (see the log's warning)"
        );
        assert!(
            partitions_of(&app, "login_attempts")
                .await
                .contains(&partition_name("login_attempts", "hour", app.clock.now()))
        );
    }
}
