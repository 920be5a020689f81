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
async fn an_instance_starting_after_every_instance_paused_makes_the_partitions_it_needs_before_it_serves()
 {
    // Every instance stopped for longer than the hours made ahead: no partition holds now.
    let database = std::sync::Arc::new(TestDatabase::create().await);
    let now = chrono::Utc::now();
    {
        use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
        let mut paused = AsyncPgConnection::establish(&database.url).await.unwrap();
        for hours in 0..5 {
            let name = partition_name("login_attempts", "hour", now + Duration::hours(hours));
            diesel::sql_query(format!("DROP TABLE IF EXISTS partitions.{name}"))
                .execute(&mut paused)
                .await
                .unwrap();
        }
    }
    let app = spawn_app_on(database, |_| {}).await;
    // Made as it started, before any pass of its sweeper (the first comes an interval later).
    let hours = partitions_of(&app, "login_attempts").await;
    for hours_ahead in 0..=3 {
        let hour = partition_name("login_attempts", "hour", now + Duration::hours(hours_ahead));
        assert!(hours.contains(&hour), "{hour} missing from {hours:?}");
    }
    let stranger = app.device(FIREFOX_WINDOWS);
    assert_eq!(
        stranger
            .login("ada@example.com", "wrong password")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM partitions.login_attempts_default")
            .await,
        0,
        "a slot landed in the DEFAULT partition"
    );
}

#[tokio::test]
async fn making_a_partition_while_logins_take_their_slots_fails_neither() {
    // The tests' settings take no slots for passkey sign-ins; these must, and never run out.
    let app = spawn_app_with(|settings| settings.throttle.passkey_sign_in_max_per_ip = 1_000).await;
    let stranger = app.device(FIREFOX_WINDOWS);
    let start_passkey_sign_in = || async {
        let response = stranger.post("/api/auth/passkey/start", json!({})).await;
        (response.status(), response.text().await.unwrap_or_default())
    };
    let in_default = "SELECT count(*) AS n FROM partitions.login_attempts_default";
    for round in 0..6 {
        // Five hours on: no partition holds the hour (they are made three ahead, the
        // template's four), so the first slot lands in the DEFAULT partition and the pass
        // must move it out of there while more slots are taken through the parent.
        app.clock.advance(Duration::hours(5));
        assert_eq!(start_passkey_sign_in().await.0, StatusCode::OK);
        assert!(app.count(in_default).await > 0, "round {round}");
        let slots_meanwhile =
            futures_util::future::join_all((0..16).map(|_| start_passkey_sign_in()));
        let (_, answers) = tokio::join!(app.sweep(), slots_meanwhile);
        for (status, body) in answers {
            assert_eq!(status, StatusCode::OK, "round {round}: {body}");
        }
        // Whichever pass ran, the hour has its partition and nothing waits in DEFAULT: a
        // failed maintenance (it is only logged) would leave both undone.
        assert!(
            partitions_of(&app, "login_attempts")
                .await
                .contains(&partition_name("login_attempts", "hour", app.clock.now())),
            "round {round}: the hour's partition was not made (see the log's warning)"
        );
        assert_eq!(app.count(in_default).await, 0, "round {round}");
    }
}

#[tokio::test]
async fn making_a_month_of_the_log_while_accounts_sign_up_fails_neither() {
    let app = spawn_app_with(|settings| settings.throttle.signup_max_per_ip = 1_000).await;
    app.sweep().await;
    let mut signed_up = 0;
    for round in 0..6 {
        // A month on: the pass makes the month two ahead, whose partition copies the log's
        // foreign key to `users`, while each signup writes `users` and then the log.
        app.clock.advance(Duration::days(31));
        let signups = futures_util::future::join_all((0..8).map(|_| {
            signed_up += 1;
            let email = format!("user{signed_up}@example.com");
            let device = app.device(FIREFOX_WINDOWS);
            async move {
                let response = device
                    .post(
                        "/api/auth/signup",
                        json!({"email": email, "password": PASSWORD, "name": "Ada"}),
                    )
                    .await;
                (response.status(), response.text().await.unwrap_or_default())
            }
        }));
        let (_, answers) = tokio::join!(app.sweep(), signups);
        for (status, body) in answers {
            assert_eq!(status, StatusCode::CREATED, "round {round}: {body}");
        }
        assert!(
            partitions_of(&app, "activity")
                .await
                .contains(&partition_name(
                    "activity",
                    "month",
                    app.clock.now() + Duration::days(60)
                )),
            "round {round}: the month's partition was not made (see the log's warning)"
        );
    }
}
