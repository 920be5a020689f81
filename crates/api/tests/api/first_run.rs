//! What a newcomer and an operator meet first: instances starting together on an empty
//! database, a browser coming back, restarts without a key, links in mail, `.env`, and
//! error messages that name their cause.

use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn three_instances_starting_together_on_an_empty_database_all_become_ready() {
    let database = Arc::new(TestDatabase::not_yet_created());
    let start = |database: Arc<TestDatabase>| {
        build_app_on(database, |settings| {
            settings.database.create_database = true
        })
    };
    // Started at the same moment: each creates the database if missing and migrates it.
    let ((a, run_a), (b, run_b), (c, run_c)) = tokio::join!(
        start(database.clone()),
        start(database.clone()),
        start(database.clone())
    );
    for run in [run_a, run_b, run_c] {
        tokio::spawn(run.run_until_stopped());
    }
    for app in [&a, &b, &c] {
        app.wait_until_ready().await;
    }
    // One set of migrations, applied once, and every instance serves.
    let applied = a
        .sql("SELECT count(*) AS n FROM __diesel_schema_migrations")
        .await;
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations"))
        .unwrap()
        .filter(|entry| entry.as_ref().unwrap().path().is_dir())
        .count();
    assert_eq!(applied[0]["n"], migrations);
    c.signed_up("ada@example.com").await;
    assert_eq!(b.active_sessions_in_db().await, 1);
}

/// The same browser after it was closed: the session cookie (no `Max-Age` without "keep
/// me signed in") is gone, the device cookie stays.
fn after_closing(browser: &Device, app: &TestApp) -> Device {
    let reopened = app.device(browser.user_agent);
    let device_cookie = browser
        .cookie_value("sm_device")
        .expect("a signed-in browser has a device cookie");
    let url = app.address.parse().unwrap();
    reopened
        .jar
        .add_cookie_str(&format!("sm_device={device_cookie}; Path=/"), &url);
    assert!(reopened.cookie_value("sm_session").is_none());
    reopened
}

async fn end_reasons(app: &TestApp) -> Vec<Value> {
    app.sql("SELECT end_reason FROM sessions WHERE ended_at IS NOT NULL ORDER BY ended_at")
        .await
        .into_iter()
        .map(|row| row["end_reason"].clone())
        .collect()
}

#[tokio::test]
async fn a_browser_signing_in_again_after_closing_takes_its_own_sessions_place() {
    let app = spawn_app().await;
    let laptop = app.user_with_one_session().await;
    let first_session = laptop.session_id().await;

    let reopened = after_closing(&laptop, &app);
    let login = reopened.login("ada@example.com", PASSWORD).await;
    assert_eq!(login.status(), StatusCode::OK, "no approval from itself");
    assert_ne!(reopened.session_id().await, first_session);
    assert_eq!(app.active_sessions_in_db().await, 1, "one session, not two");
    assert_eq!(end_reasons(&app).await, [json!("replaced_by_same_browser")]);
    let logged: Vec<Value> = reopened
        .get("/api/activity")
        .await
        .json::<Value>()
        .await
        .unwrap()["items"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        logged
            .iter()
            .any(|entry| entry["detail"] == "the same browser signed in again"),
        "the replacement is logged: {logged:?}"
    );

    // Another browser is another device: it still needs the approval.
    let phone = app.device(SAFARI_IPHONE);
    let asked = phone.login("ada@example.com", PASSWORD).await;
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    let body: Value = asked.json().await.unwrap();
    assert_eq!(body["status"], "approval_required");
}

#[tokio::test]
async fn a_browser_coming_back_at_the_limit_is_neither_refused_nor_asked() {
    let app = spawn_app().await;
    let laptop = app.user_with_one_session().await;
    let _phone = app
        .second_device(&laptop, "ada@example.com", SAFARI_IPHONE)
        .await;
    assert_eq!(app.active_sessions_in_db().await, 2);

    // Twice, as after two restarts of the browser: never "Already 2 sessions active".
    let mut browser = after_closing(&laptop, &app);
    for _ in 0..2 {
        let login = browser.login("ada@example.com", PASSWORD).await;
        assert_eq!(login.status(), StatusCode::OK);
        assert_eq!(app.active_sessions_in_db().await, 2);
        browser = after_closing(&browser, &app);
    }
    // A third browser still meets the limit.
    let third = app.device(FIREFOX_WINDOWS);
    assert_error(
        third.login("ada@example.com", PASSWORD).await,
        StatusCode::CONFLICT,
        "session_limit",
    )
    .await;
}

#[tokio::test]
async fn a_server_started_with_a_one_off_key_ends_the_sessions_made_before_it() {
    let database = Arc::new(TestDatabase::create().await);
    let before = spawn_app_on(database.clone(), |_| {}).await;
    before.user_with_one_session().await;
    assert_eq!(before.active_sessions_in_db().await, 1);

    let restarted = spawn_app_on(database, |settings| {
        settings.session.secret = api::config::Secret::new(vec![9; 64]);
        settings.session.ephemeral_secret = true;
    })
    .await;
    assert_eq!(restarted.active_sessions_in_db().await, 0);
    assert_eq!(end_reasons(&restarted).await, [json!("key_changed")]);
    // The same browser signs in again without asking anyone.
    let login = restarted
        .device(CHROME_LINUX)
        .login("ada@example.com", PASSWORD)
        .await;
    assert_eq!(login.status(), StatusCode::OK);
}

#[tokio::test]
async fn mailed_links_lead_to_the_address_the_server_serves_unless_public_url_is_set() {
    let mailbox = Mailbox::start().await;
    let url = mailbox.url();
    let app = spawn_app_with(move |settings| {
        settings.mail.smtp_url = Some(url.into());
        settings.mail.poll = Duration::from_secs(1);
    })
    .await;
    app.user_with_one_session().await;
    let mail = mail_with_subject(&mailbox, "Confirm your e-mail address").await;
    let served = format!("http://localhost:{}/verify-email#token=", app.port);
    assert!(mail.text().contains(&served), "{}", mail.text());
}

/// Runs the binary in `dir` with only the given variables (and PATH).
fn api_in(dir: &std::path::Path, args: &[&str], vars: &[(&str, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_api"));
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (name, value) in vars {
        command.env(name, value);
    }
    command
}

/// Serves from `dir` until it listens, then stops it; what it printed on stdout.
async fn serve_once(dir: &std::path::Path, database: &TestDatabase) -> String {
    let port_file = dir.join("port");
    let mut child = serving_env(
        &mut api_in(
            dir,
            &["serve", "--port-file", port_file.to_str().unwrap()],
            &[],
        ),
        &database.url,
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    assert!(
        port_from_file(&port_file).await.is_some(),
        "the server never listened"
    );
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn log_settings_in_dot_env_shape_the_log_from_its_first_line() {
    let database = TestDatabase::create().await;
    let dir = std::env::temp_dir().join(format!("sm-dotenv-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();

    std::fs::write(dir.join(".env"), "LOG_FORMAT=json\nRUST_LOG=info\n").unwrap();
    let json_log = serve_once(&dir, &database).await;
    let lines: Vec<&str> = json_log.lines().collect();
    assert!(!lines.is_empty(), "the server logged nothing");
    for line in &lines {
        let entry: Value = serde_json::from_str(line)
            .unwrap_or_else(|_| panic!("LOG_FORMAT=json from .env: not JSON: {line}"));
        assert!(entry["level"].is_string());
    }
    assert!(json_log.contains("\"listening\""), "{json_log}");

    std::fs::write(dir.join(".env"), "RUST_LOG=error\n").unwrap();
    let quiet = serve_once(&dir, &database).await;
    assert!(
        !quiet.contains("listening"),
        "RUST_LOG=error from .env: {quiet}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn closed_port() -> u16 {
    // Bound and released: nothing listens there now.
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test]
async fn a_closed_database_port_is_named_with_its_host_port_and_the_os_error_once() {
    let port = closed_port();
    let url = format!("postgres://postgres@127.0.0.1:{port}/nothing_here");
    let dir = std::env::temp_dir();
    for args in [&["admin", "user", "ada@example.com"][..], &["serve"][..]] {
        let output = serving_env(&mut api_in(&dir, args, &[]), &url)
            .output()
            .unwrap();
        assert!(!output.status.success());
        let said = text(&output);
        assert!(
            said.contains(&format!("127.0.0.1:{port}")),
            "{args:?}: {said}"
        );
        assert_eq!(
            said.matches("Connection refused").count(),
            1,
            "{args:?}: {said}"
        );
    }
}

#[tokio::test]
async fn configuration_errors_name_their_variable() {
    let dir = std::env::temp_dir();
    let malformed = api_in(
        &dir,
        &["admin", "user", "ada@example.com"],
        &[(
            "DATABASE_URL",
            "postgres://postgres@127.0.0.1:notaport/x".to_owned(),
        )],
    )
    .output()
    .unwrap();
    assert!(!malformed.status.success());
    assert!(
        text(&malformed).contains("DATABASE_URL"),
        "{}",
        text(&malformed)
    );

    // The metrics port is taken: the message says it is METRICS_BIND's, not PORT's.
    let database = TestDatabase::create().await;
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let busy = api_in(
        &dir,
        &["serve"],
        &[
            ("DATABASE_URL", database.url.clone()),
            ("CREATE_DATABASE", "false".to_owned()),
            ("PORT", "0".to_owned()),
            ("METRICS_BIND", address.clone()),
            ("ADMIN_BIND", "off".to_owned()),
        ],
    )
    .output()
    .unwrap();
    assert!(!busy.status.success());
    let said = text(&busy);
    assert!(
        said.contains(&address) && said.contains("METRICS_BIND"),
        "{said}"
    );
}
