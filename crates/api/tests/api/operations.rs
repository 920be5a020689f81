//! What operators use: Prometheus metrics on their own port, and `api admin …` (the real
//! binary, against the test's database, next to a running server).

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Output};

use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::ws::ServerMessage;

use crate::support::*;

/// One scrape: every sample as (name, labels) → value.
struct Scrape(Vec<(String, BTreeMap<String, String>, f64)>);

impl Scrape {
    async fn of(app: &TestApp) -> Self {
        let response = reqwest::get(format!("{}/metrics", app.metrics_address))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain; version=0.0.4")
        );
        let text = response.text().await.unwrap();
        let samples = text
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
            .map(|line| {
                let (series, value) = line.rsplit_once(' ').unwrap();
                let (name, labels) = match series.split_once('{') {
                    Some((name, labels)) => {
                        let labels = labels
                            .trim_end_matches('}')
                            .split("\",")
                            .filter(|pair| !pair.is_empty())
                            .map(|pair| {
                                let (key, value) = pair.split_once("=\"").unwrap();
                                (key.to_owned(), value.trim_end_matches('"').to_owned())
                            })
                            .collect();
                        (name.to_owned(), labels)
                    }
                    None => (series.to_owned(), BTreeMap::new()),
                };
                (name, labels, value.parse::<f64>().unwrap())
            })
            .collect();
        Self(samples)
    }

    /// The sum of the samples named `name` that carry all of `labels`.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.matching(name, labels).sum()
    }

    fn has(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        self.matching(name, labels).next().is_some()
    }

    fn matching<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = f64> + 'a {
        self.0
            .iter()
            .filter(move |(sample, have, _)| {
                sample == name
                    && labels
                        .iter()
                        .all(|(key, value)| have.get(*key).map(String::as_str) == Some(*value))
            })
            .map(|(_, _, value)| *value)
    }
}

/// How much a counter grew between two scrapes (the recorder is shared by every test of
/// this process, so counts only grow; other tests can add to them, never take away).
fn grew(before: &Scrape, after: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    after.value(name, labels) - before.value(name, labels)
}

#[tokio::test]
async fn metrics_count_logins_approvals_and_revocations_by_outcome_route_and_status() {
    let app = spawn_app().await;
    let before = Scrape::of(&app).await;

    let first = app.user_with_one_session().await;
    assert_eq!(
        app.device(SAFARI_IPHONE)
            .login("ada@example.com", "not the password")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let waiting = app
        .pending_approval("ada@example.com", FIREFOX_WINDOWS)
        .await;
    assert_eq!(waiting.approve_from(&first).await.status(), StatusCode::OK);
    assert_eq!(waiting.complete().await.status(), StatusCode::OK);
    let second_id = waiting.device.session_id().await;
    assert_eq!(
        first
            .delete(&format!("/api/sessions/{second_id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    // A login straight in: another user, signed out first.
    let grace = app.signed_up("grace@example.com").await;
    grace.post("/api/auth/logout", json!({})).await;
    assert_eq!(
        grace.login("grace@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    let _socket = first.session_socket().await;
    app.sweep().await;

    let after = Scrape::of(&app).await;
    let logins = "sm_logins_total";
    assert!(grew(&before, &after, logins, &[("outcome", "ok")]) >= 1.0);
    assert!(grew(&before, &after, logins, &[("outcome", "bad_credentials")]) >= 1.0);
    assert!(grew(&before, &after, logins, &[("outcome", "approval_required")]) >= 1.0);
    let approvals = "sm_approvals_total";
    assert!(grew(&before, &after, approvals, &[("outcome", "approved")]) >= 1.0);
    assert!(grew(&before, &after, approvals, &[("outcome", "completed")]) >= 1.0);
    let ended = "sm_sessions_ended_total";
    assert!(grew(&before, &after, ended, &[("reason", "revoked")]) >= 1.0);
    assert!(grew(&before, &after, ended, &[("reason", "logout")]) >= 1.0);
    assert!(grew(&before, &after, "sm_sessions_started_total", &[]) >= 3.0);

    let revocation = [
        ("method", "DELETE"),
        ("route", "/api/sessions/{id}"),
        ("status", "2xx"),
    ];
    assert!(grew(&before, &after, "http_requests_total", &revocation) >= 1.0);
    assert!(
        grew(
            &before,
            &after,
            "http_request_duration_seconds_count",
            &revocation
        ) >= 1.0,
        "latency is a histogram by route template and status"
    );
    assert!(after.has(
        "http_request_duration_seconds_bucket",
        &[
            ("route", "/api/auth/login"),
            ("status", "4xx"),
            ("le", "0.5")
        ]
    ));
    assert!(
        grew(
            &before,
            &after,
            "sm_password_hash_duration_seconds_count",
            &[]
        ) >= 4.0
    );
    assert!(grew(&before, &after, "sm_sweeper_runs_total", &[]) >= 1.0);
    assert!(after.has("sm_sweeper_rows_total", &[("kind", "sessions_ended")]));

    // Gauges are read at scrape time (from this application: the last scrape was ours).
    assert!(after.value("sm_sessions_active", &[]) >= 2.0);
    assert!(after.value("sm_sockets_open", &[("kind", "session")]) >= 1.0);
    assert!(after.has("sm_sockets_open", &[("kind", "waiting")]));
    assert!(after.value("sm_db_pool_size", &[]) >= 1.0);
    assert!(after.has("sm_db_pool_in_use", &[]));
    assert!(after.has("sm_db_pool_waiters", &[]));
    assert!(after.has("sm_password_hash_queue_depth", &[]));
    assert_eq!(after.value("sm_events_listener_connected", &[]), 1.0);
}

#[tokio::test]
async fn a_sweeper_step_failing_pass_after_pass_keeps_none_of_the_others_from_running() {
    let app = spawn_app().await;
    app.sweep().await;
    // Two steps read the sign-in requests: ending lapsed ones and purging finished ones.
    app.execute("ALTER TABLE login_approvals RENAME TO login_approvals_gone")
        .await;
    // Nothing was made this far ahead: a pass that reaches its partitions step makes some.
    app.clock.advance(chrono::Duration::days(200));
    let before = Scrape::of(&app).await;

    let month = {
        use api::config::Clock;
        use chrono::Datelike;
        let now = app.clock.now();
        format!("activity_{:04}{:02}01t00", now.year(), now.month())
    };
    for pass in ["first", "second"] {
        let swept = app.sweep_once().await;
        assert_eq!(swept.failed_steps, 2, "{pass} pass: {swept:?}");
        // Made by this pass or by the instance's own in between: either failed the same way.
        let made = format!("SELECT count(*) AS n FROM pg_class WHERE relname = '{month}'");
        assert_eq!(
            app.count(&made).await,
            1,
            "{pass} pass: the later steps ran"
        );
    }
    let after = Scrape::of(&app).await;
    for step in ["end_lapsed", "purge_approvals"] {
        assert!(
            grew(
                &before,
                &after,
                "sm_sweeper_failed_steps_total",
                &[("step", step)]
            ) >= 2.0,
            "{step}"
        );
    }

    app.execute("ALTER TABLE login_approvals_gone RENAME TO login_approvals")
        .await;
    // Every step again (the helper asserts that none failed).
    app.sweep().await;
}

#[tokio::test]
async fn the_grafana_dashboard_queries_only_series_the_server_exports() {
    let app = spawn_app().await;
    let device = app.user_with_one_session().await;
    device.post("/api/auth/logout", json!({})).await;
    device.login("ada@example.com", PASSWORD).await;
    let _waiting = app.signed_up("grace@example.com").await;
    app.pending_approval("grace@example.com", FIREFOX_WINDOWS)
        .await
        .approve_from(&_waiting)
        .await;
    app.sweep().await;
    let scrape = Scrape::of(&app).await;

    let dashboard: Value = serde_json::from_str(include_str!("../../grafana/dashboard.json"))
        .expect("the dashboard is JSON");
    let mut queried = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            queried.extend(
                expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .filter(|word| word.starts_with("sm_") || word.starts_with("http_"))
                    .map(str::to_owned),
            );
        }
    }
    assert!(queried.len() >= 12);
    for name in queried {
        assert!(
            scrape.has(&name, &[]),
            "the dashboard queries {name}, which /metrics lacks"
        );
    }
}

#[tokio::test]
async fn metrics_are_served_on_their_own_port_only() {
    let app = spawn_app().await;
    assert_error(
        reqwest::get(app.url("/metrics")).await.unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_ne!(
        app.metrics_address, app.address,
        "metrics listen apart from the API"
    );
}

/// Requests with methods and paths of the client's choosing: the methods of `odd_method`
/// on made-up paths and on a real route's path, and a known method on made-up paths.
async fn odd_requests(app: &TestApp, odd_method: impl Fn(usize) -> String, rounds: usize) {
    let client = reqwest::Client::new();
    for round in 0..rounds {
        let token = uuid::Uuid::new_v4().simple().to_string();
        let method = reqwest::Method::from_bytes(odd_method(round).as_bytes()).unwrap();
        for path in [
            format!("/no/such/page-{token}"),
            format!("/api/nothing-{token}"),
            format!("/api/sessions/{token}"),
        ] {
            // A method the server refuses outright is fine too: it only must not count.
            let _ = client.request(method.clone(), app.url(&path)).send().await;
            client.get(app.url(&path)).send().await.unwrap();
        }
    }
}

/// The `http_*` series whose method is not a standard one.
fn odd_method_series(scrape: &Scrape) -> BTreeSet<BTreeMap<String, String>> {
    scrape
        .0
        .iter()
        .filter(|(name, labels, _)| {
            name.starts_with("http_") && labels.get("method").is_some_and(|m| m == "other")
        })
        .map(|(name, labels, _)| {
            let mut series = labels.clone();
            series.insert("__name__".into(), name.clone());
            series
        })
        .collect()
}

#[tokio::test]
async fn requests_with_made_up_methods_and_paths_add_no_metric_series() {
    let app = spawn_app().await;
    // Once, so that every series these requests can count in exists.
    odd_requests(&app, |_| "BREW".to_owned(), 1).await;
    let before = Scrape::of(&app).await;
    let odd_before = odd_method_series(&before);
    assert!(!odd_before.is_empty(), "the odd methods counted as `other`");

    let tokens: Vec<String> = (0..100)
        .map(|_| format!("M{}", uuid::Uuid::new_v4().simple()).to_uppercase())
        .collect();
    odd_requests(&app, |round| tokens[round].clone(), tokens.len()).await;
    odd_requests(&app, |round| format!("LONG{round}{}", "X".repeat(2000)), 20).await;

    let after = Scrape::of(&app).await;
    assert_eq!(
        odd_method_series(&after),
        odd_before,
        "made-up methods and paths made new series"
    );
    let text = reqwest::get(format!("{}/metrics", app.metrics_address))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for token in &tokens {
        assert!(!text.contains(token.as_str()), "{token} became a label");
    }
    assert!(!text.contains("XXXXXXXX") && !text.contains("page-"));
    // Every label of the request series comes from a closed set.
    let methods = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "other",
    ];
    let statuses = ["1xx", "2xx", "3xx", "4xx", "5xx"];
    for (name, labels, _) in after
        .0
        .iter()
        .filter(|(name, ..)| name.starts_with("http_"))
    {
        assert!(
            methods.contains(&labels["method"].as_str()),
            "{name} {labels:?}"
        );
        assert!(
            statuses.contains(&labels["status"].as_str()),
            "{name} {labels:?}"
        );
        let route = labels["route"].as_str();
        assert!(
            route == "unmatched" || route.starts_with('/') && !route.contains("page-"),
            "{name} {labels:?}"
        );
    }
}

/// Runs `api admin ARGS…` against the app's database, as an operator would.
async fn admin(app: &TestApp, args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    let database_url = app.database_url.clone();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_api"))
            .arg("admin")
            .args(&args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", database_url)
            .env("LOGIN_MAX_FAILURES", "3")
            .output()
            .expect("the api binary runs")
    })
    .await
    .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn admin_user_and_sessions_show_what_the_account_has() {
    // Room for a request in flight beside two sessions.
    let app = spawn_app_with(|settings| settings.session.max_sessions = 3).await;
    let (first, second) = app.user_with_two_sessions().await;
    let _waiting = app.pending_approval("ada@example.com", SAFARI_IPHONE).await;
    let (first_id, second_id) = (first.session_id().await, second.session_id().await);

    let user = json_of(&admin(&app, &["user", "ada@example.com", "--json"]).await);
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["active_sessions"].as_array().unwrap().len(), 2);
    assert_eq!(user["pending_approvals"].as_array().unwrap().len(), 1);
    assert_eq!(user["locked"], false);

    let sessions = json_of(&admin(&app, &["sessions", "ada@example.com", "--json"]).await);
    let ids: Vec<&str> = sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|session| session["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [first_id.as_str(), second_id.as_str()], "oldest first");

    let table = admin(&app, &["sessions", "ADA@example.com"]).await;
    assert!(table.status.success());
    let table = stdout(&table);
    assert!(
        table.starts_with("SESSION"),
        "a table with a header: {table}"
    );
    assert!(table.contains(&first_id) && table.contains(&second_id));
    assert!(table.contains("Firefox"));
}

#[tokio::test]
async fn admin_revoke_ends_one_session_its_socket_hears_it_and_the_log_says_by_administrator() {
    let app = spawn_app().await;
    let (first, second) = app.user_with_two_sessions().await;
    let second_id = second.session_id().await;
    let mut second_socket = second.session_socket().await;

    let output = admin(
        &app,
        &[
            "revoke",
            "ada@example.com",
            "--session",
            &second_id,
            "--json",
        ],
    )
    .await;
    assert_eq!(json_of(&output)["revoked"][0]["id"], second_id.as_str());

    // The running server hears it through PostgreSQL and closes the socket.
    assert_eq!(
        next_revocation(&mut second_socket).await,
        ServerMessage::SessionRevoked {
            reason: "revoked".into(),
            replaced_by: None,
        }
    );
    assert_eq!(closed(&mut second_socket).await, Some(1008));
    assert_error(
        second.me().await,
        StatusCode::UNAUTHORIZED,
        "invalid_session",
    )
    .await;
    assert_eq!(first.me().await.status(), StatusCode::OK);
    let activity: Value = first.get("/api/activity").await.json().await.unwrap();
    assert_eq!(activity["items"][0]["kind"], "session_revoked");
    assert_eq!(activity["items"][0]["detail"], "by administrator");

    // Again: that session is no longer active.
    let again = admin(
        &app,
        &["revoke", "ada@example.com", "--session", &second_id],
    )
    .await;
    assert!(!again.status.success());
    assert!(stderr(&again).contains("No such active session"));
}

#[tokio::test]
async fn admin_revoke_all_signs_every_device_out_and_cancels_requests_in_flight() {
    let app = spawn_app_with(|settings| settings.session.max_sessions = 3).await;
    let (first, second) = app.user_with_two_sessions().await;
    let waiting = app.pending_approval("ada@example.com", SAFARI_IPHONE).await;
    let mut first_socket = first.session_socket().await;

    let output = admin(&app, &["revoke-all", "ada@example.com"]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output).trim(),
        "ended 2 session(s), cancelled 1 sign-in request(s)"
    );

    // The prompt of the request in flight may come and go first.
    let revoked = next_beyond_requests(&mut first_socket).await;
    assert_eq!(
        revoked,
        ServerMessage::SessionRevoked {
            reason: "revoked".into(),
            replaced_by: None,
        }
    );
    assert_eq!(closed(&mut first_socket).await, Some(1008));
    for device in [&first, &second] {
        assert_error(
            device.me().await,
            StatusCode::UNAUTHORIZED,
            "invalid_session",
        )
        .await;
    }
    assert_ne!(waiting.complete().await.status(), StatusCode::OK);
    assert_eq!(app.active_sessions_in_db().await, 0);
}

#[tokio::test]
async fn admin_unlock_lets_a_throttled_account_sign_in_at_once() {
    let app = spawn_app_with(|settings| settings.throttle.login_max_failures = 3).await;
    let device = app.user_with_one_session().await;
    device.post("/api/auth/logout", json!({})).await;
    let stranger = app.device(FIREFOX_WINDOWS);
    for _ in 0..3 {
        stranger.login("ada@example.com", "a wrong guess").await;
    }
    assert_error(
        stranger.login("ada@example.com", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
    )
    .await;
    let user = json_of(&admin(&app, &["user", "ada@example.com", "--json"]).await);
    assert_eq!(user["locked"], true);

    let unlocked = json_of(&admin(&app, &["unlock", "ada@example.com", "--json"]).await);
    assert!(unlocked["forgotten_failures"].as_u64().unwrap() >= 3);
    assert_eq!(
        stranger.login("ada@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    let activity: Value = stranger.get("/api/activity").await.json().await.unwrap();
    let unlocked = activity["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["kind"] == "account_unlocked")
        .expect("the unlock is in the user's activity log");
    assert_eq!(unlocked["detail"], "by administrator");
}

#[tokio::test]
async fn admin_user_delete_signs_every_device_out_and_removes_the_account_for_good() {
    let app = spawn_app_with(|settings| settings.session.max_sessions = 3).await;
    let (first, second) = app.user_with_two_sessions().await;
    let waiting = app.pending_approval("ada@example.com", SAFARI_IPHONE).await;
    let mut socket = second.session_socket().await;
    let _bob = app.signed_up("bob@example.com").await;
    let ada_id = first.me().await.json::<Value>().await.unwrap()["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let deleted = json_of(&admin(&app, &["user", "delete", "ADA@example.com", "--json"]).await);
    assert_eq!(deleted["deleted"], "ada@example.com");
    assert_eq!(deleted["id"], ada_id.as_str());
    assert_eq!(deleted["sessions_ended"], 2);
    assert_eq!(deleted["requests_cancelled"], 1);

    // The running server hears it through PostgreSQL: the socket is told and closed.
    let revoked = next_beyond_requests(&mut socket).await;
    assert_eq!(
        revoked,
        ServerMessage::SessionRevoked {
            reason: "account_deleted".into(),
            replaced_by: None,
        }
    );
    assert_eq!(closed(&mut socket).await, Some(1008));
    for device in [&first, &second] {
        assert_error(
            device.me().await,
            StatusCode::UNAUTHORIZED,
            "invalid_session",
        )
        .await;
    }
    assert_ne!(waiting.complete().await.status(), StatusCode::OK);
    for table in ["users", "sessions", "login_approvals", "activity"] {
        let column = if table == "users" { "id" } else { "user_id" };
        let rows = app
            .sql(&format!(
                "SELECT count(*) AS n FROM {table} WHERE {column} = '{ada_id}'"
            ))
            .await;
        assert_eq!(rows[0]["n"], 0, "{table}");
    }
    assert_eq!(app.sql("SELECT id FROM users").await.len(), 1, "bob stays");
    let again = admin(&app, &["user", "delete", "ada@example.com"]).await;
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(stderr(&again).trim(), "error: No user with this email");
    // The table form says what it did.
    let table = admin(&app, &["user", "delete", "bob@example.com"]).await;
    assert!(table.status.success(), "{}", stderr(&table));
    assert!(
        stdout(&table).starts_with("deleted bob@example.com ("),
        "{}",
        stdout(&table)
    );
}

#[tokio::test]
async fn admin_says_clearly_what_is_wrong_and_exits_non_zero() {
    let app = spawn_app().await;
    let _ada = app.user_with_one_session().await;

    let unknown = admin(&app, &["sessions", "nobody@example.com"]).await;
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(stderr(&unknown).trim(), "error: No user with this email");
    assert!(stdout(&unknown).is_empty());

    let malformed = admin(
        &app,
        &["revoke", "ada@example.com", "--session", "not-an-id"],
    )
    .await;
    assert_eq!(malformed.status.code(), Some(2), "a usage error");
    assert!(stderr(&malformed).contains("invalid value 'not-an-id'"));

    let missing = admin(&app, &["unlock"]).await;
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("<EMAIL>"));

    let unreachable = tokio::task::spawn_blocking(|| {
        Command::new(env!("CARGO_BIN_EXE_api"))
            .args(["admin", "user", "ada@example.com"])
            .env_clear()
            .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/nothing")
            .env("DB_TIMEOUT_SECS", "2")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(unreachable.status.code(), Some(1));
    assert!(
        stderr(&unreachable).starts_with("error: "),
        "{}",
        stderr(&unreachable)
    );
}

#[tokio::test]
async fn the_binary_prints_the_same_document_it_serves() {
    let app = spawn_app().await;
    let served: Value = reqwest::get(app.url("/api/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let printed = tokio::task::spawn_blocking(|| {
        Command::new(env!("CARGO_BIN_EXE_api"))
            .arg("openapi")
            .env_clear()
            .env("COOKIE_SECURE", "false")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(printed.status.success(), "{}", stderr(&printed));
    let printed: Value = serde_json::from_slice(&printed.stdout).unwrap();
    assert_eq!(printed["paths"], served["paths"]);
}

#[tokio::test]
async fn with_log_format_json_each_request_is_one_json_line_with_its_id_route_status_and_latency() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let database = crate::database::TestDatabase::create().await;
    let port_file = std::env::temp_dir().join(format!("api-port-{}", uuid::Uuid::new_v4()));
    let mut child = serving_env(
        Command::new(env!("CARGO_BIN_EXE_api"))
            .args(["serve", "--port-file"])
            .arg(&port_file)
            .env_clear(),
        &database.url,
    )
    .env("LOG_FORMAT", "json")
    .env("RUST_LOG", "info")
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit())
    .spawn()
    .unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let port = port_from_file(&port_file)
        .await
        .expect("the server listens");
    let response = reqwest::Client::new()
        .delete(format!(
            "http://127.0.0.1:{port}/api/sessions/3f0c4b2e-9d8a-4c1b-8e7f-123456789abc"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
    let _ = std::fs::remove_file(&port_file);

    let lines = lines.join().unwrap();
    assert!(!lines.is_empty());
    let records: Vec<Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let served = records
        .iter()
        .find(|record| record["message"] == "served")
        .expect("an access-log line");
    assert_eq!(served["route"], "/api/sessions/{id}");
    assert_eq!(served["status"], 401);
    assert!(served["latency_ms"].as_f64().is_some());
    assert_eq!(served["level"], "INFO");
    assert_eq!(served["span"]["method"], "DELETE");
    assert!(
        uuid::Uuid::parse_str(served["span"]["request_id"].as_str().unwrap()).is_ok(),
        "the request id: {served}"
    );
}

/// The soft and hard limits on open files of process `pid`.
fn open_file_limits(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .unwrap()
        .to_owned();
    let mut fields = line.split_whitespace().skip(3);
    (
        fields.next().unwrap().to_owned(),
        fields.next().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn the_server_raises_its_soft_open_file_limit_to_the_hard_one() {
    use std::process::Stdio;

    let database = crate::database::TestDatabase::create().await;
    let port_file = std::env::temp_dir().join(format!("api-port-{}", uuid::Uuid::new_v4()));
    // Started with a soft limit of 256, below any hard limit.
    let mut child = serving_env(
        Command::new("sh")
            .args([
                "-c",
                "ulimit -S -n 256 && exec \"$0\" serve --port-file \"$1\"",
            ])
            .arg(env!("CARGO_BIN_EXE_api"))
            .arg(&port_file)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default()),
        &database.url,
    )
    .env("RUST_LOG", "warn")
    .stdout(Stdio::null())
    .spawn()
    .unwrap();
    let started = port_from_file(&port_file).await.is_some();
    let (soft, hard) = open_file_limits(child.id());
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
    let _ = std::fs::remove_file(&port_file);
    assert!(started, "the server did not start");
    assert_ne!(
        hard, "256",
        "the hard limit must be above the soft one for this test"
    );
    assert_eq!(soft, hard);
}
