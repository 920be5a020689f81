//! Mail to the account's address, through a real SMTP conversation with a small server the
//! tests start (`support::mailbox`) or the in-memory transport: what is mailed, that
//! nothing is lost while the server is down or a worker dies, and that two instances never
//! send one mail twice.

use std::sync::Arc;
use std::time::Duration;

use api::config::{LimitPolicy, Settings};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

fn mail_to(url: String) -> impl Fn(&mut Settings) {
    move |settings| {
        settings.mail.smtp_url = Some(url.clone().into());
        settings.mail.poll = Duration::from_secs(1);
        settings.mail.retry = Duration::from_secs(1);
        settings.server.public_url = Some("https://sessions.example".to_owned());
    }
}

async fn change_password(device: &Device) {
    let changed = device
        .post(
            "/api/me/password",
            json!({"current_password": PASSWORD, "new_password": "new password 1"}),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_password_change_is_mailed_to_the_account_address_with_the_device_and_a_link() {
    let mailbox = Mailbox::start().await;
    let app = spawn_app_with(mail_to(mailbox.url())).await;
    let device = app.user_with_one_session().await;
    change_password(&device).await;

    let mail = mailbox
        .wait_for_subject("Your password was changed", 1)
        .await;
    assert_eq!(mail[0].to, ["ada@example.com"]);
    assert!(
        mail[0]
            .data
            .contains("From: \"Session Manager\" <no-reply@localhost>")
    );
    assert!(mail[0].data.contains("Device: Chrome"), "{}", mail[0].data);
    assert!(mail[0].data.contains("Address: 127.0.0.1"));
    assert!(mail[0].data.contains("https://sessions.example/"));
    assert!(mail[0].data.contains("text/html"), "plain text and HTML");
    assert!(
        !mail[0].data.contains("new password 1"),
        "a mail carries no secret"
    );
    // The worker records the sending after the server took the mail: wait for that.
    app.deliver_mail().await;
    let rows = app
        .sql("SELECT sent_at IS NOT NULL AS sent, attempts FROM mail_outbox WHERE kind = 'password_changed'")
        .await;
    assert_eq!(rows, [json!({"sent": true, "attempts": 1})]);
}

#[tokio::test]
async fn mail_is_headed_and_signed_with_the_configured_app_name_which_the_app_is_told_too() {
    let mailbox = Mailbox::start().await;
    let app = spawn_app_with(|settings| {
        mail_to(mailbox.url())(settings);
        settings.server.app_name = "Acme Sessions".to_owned();
        settings.mail.from = "Acme Sessions <no-reply@acme.example>".to_owned();
    })
    .await;
    let config: serde_json::Value = app
        .device(CHROME_LINUX)
        .get("/api/config")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(config["app_name"], "Acme Sessions");
    assert_eq!(config["mail_delivery"], "smtp", "mail really leaves");

    let _device = app.user_with_one_session().await;
    let mail = mailbox.wait_for(1, Duration::from_secs(10)).await.remove(0);
    assert_eq!(mail.subject(), "Acme Sessions: Confirm your e-mail address");
    assert!(
        mail.data
            .contains("From: \"Acme Sessions\" <no-reply@acme.example>")
    );
    let text = mail.text();
    assert!(
        text.contains("this is your address for Acme Sessions"),
        "{text}"
    );
    assert!(
        text.contains("\nAcme Sessions\n"),
        "signed with the name: {text}"
    );
    assert!(
        !text.contains("Session Manager"),
        "no other product's name: {text}"
    );
}

#[tokio::test]
async fn a_sign_in_from_a_new_device_is_mailed_even_when_a_device_approved_it() {
    let mailbox = Mailbox::start().await;
    let app = spawn_app_with(mail_to(mailbox.url())).await;
    let first = app.user_with_one_session().await;
    // Signing up is the account's first device: nothing is mailed for it.
    app.second_device(&first, "ada@example.com", FIREFOX_WINDOWS)
        .await;

    let mail = mailbox
        .wait_for_subject("New sign-in to your account", 1)
        .await;
    assert!(mail[0].data.contains("Device: Firefox"), "{}", mail[0].data);
    // The confirmation of the address, and this: nothing about the signup's own device.
    mailbox.wait_for(2, Duration::from_secs(10)).await;
    app.deliver_mail().await;
    assert_eq!(mailbox.received().len(), 2);
    assert_eq!(app.unsent_mail().await, 0);
}

#[tokio::test]
async fn a_correct_password_refused_at_the_limit_is_mailed_once_however_often_it_is_tried() {
    let mailbox = Mailbox::start().await;
    let app = spawn_app_with(|settings| {
        mail_to(mailbox.url())(settings);
        settings.session.limit_policy = LimitPolicy::Refuse;
        settings.session.max_sessions = 1;
    })
    .await;
    let _first = app.user_with_one_session().await;
    for _ in 0..3 {
        let refused = app
            .device(FIREFOX_WINDOWS)
            .login("ada@example.com", PASSWORD)
            .await;
        assert_eq!(refused.status(), StatusCode::CONFLICT);
    }

    const REFUSED: &str = "Someone used your password and was refused";
    mailbox.wait_for_subject(REFUSED, 1).await;
    // Every refusal is in the activity log; the mailbox gets one mail per quarter hour.
    let queued = app
        .sql("SELECT count(*) AS n FROM mail_outbox WHERE kind = 'login_refused'")
        .await;
    assert_eq!(queued[0]["n"], 1);
    app.clock.advance(chrono::Duration::minutes(16));
    let refused = app
        .device(FIREFOX_WINDOWS)
        .login("ada@example.com", PASSWORD)
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    mailbox.wait_for_subject(REFUSED, 2).await;
}

#[tokio::test]
async fn mail_queued_while_the_smtp_server_is_down_is_sent_when_it_is_back_and_only_once_by_two_instances()
 {
    // A port with nothing listening on it yet: bound, so that no other socket takes it
    // before the mailbox listens, and refusing connections until then.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = socket.local_addr().unwrap().port();
    let pair = spawn_two_instances_with(mail_to(format!("smtp://127.0.0.1:{port}"))).await;
    let device = pair.a.user_with_one_session().await;
    change_password(&device).await;

    // Both workers try and fail; the mail stays queued with its failures recorded.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let rows = pair
            .a
            .sql("SELECT attempts, sent_at IS NULL AS waiting, last_error FROM mail_outbox WHERE kind = 'password_changed'")
            .await;
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["waiting"], true);
        if rows[0]["attempts"].as_i64().unwrap() >= 2 {
            assert!(rows[0]["last_error"].is_string());
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no retry: {rows:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let mailbox = Mailbox::start_with(socket.listen(64).unwrap());
    mailbox
        .wait_for_subject("Your password was changed", 1)
        .await;
    mailbox
        .wait_for_subject("Confirm your e-mail address", 1)
        .await;
    // A pass of either instance now sends neither again.
    pair.a.deliver_mail().await;
    pair.b.deliver_mail().await;
    assert_eq!(mailbox.received().len(), 2);
    let rows = pair
        .b
        .sql("SELECT sent_at IS NOT NULL AS sent, last_error FROM mail_outbox ORDER BY id")
        .await;
    let sent = json!({"sent": true, "last_error": null});
    assert_eq!(rows, [sent.clone(), sent]);
}

#[tokio::test]
async fn without_an_smtp_server_mail_is_written_to_the_log_and_counts_as_sent() {
    let app = spawn_app_with(|settings| settings.mail.poll = Duration::from_secs(1)).await;
    let device = app.user_with_one_session().await;
    change_password(&device).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let rows = app
            .sql("SELECT sent_at IS NOT NULL AS sent FROM mail_outbox WHERE kind = 'password_changed'")
            .await;
        assert_eq!(rows.len(), 1);
        if rows[0]["sent"] == true {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never logged");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_address_stored_with_a_display_name_is_never_mailed_under_that_name() {
    let (app, mailbox) = app_with_mailbox().await;
    let device = app.user_with_one_session().await;
    mail_with_subject(&mailbox, "Confirm your e-mail address").await;
    // As an older, looser rule could have stored it.
    app.execute("UPDATE users SET email = 'your bank<ada@example.com>'")
        .await;
    let resent = device.post("/api/me/email-verification", json!({})).await;
    assert_eq!(resent.status(), StatusCode::ACCEPTED);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let rows = app
            .sql("SELECT last_error FROM mail_outbox WHERE failed_at IS NOT NULL")
            .await;
        if let Some(row) = rows.first() {
            assert!(
                row["last_error"].as_str().unwrap().starts_with("recipient"),
                "{row}"
            );
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never refused");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(mailbox.received().len(), 1, "only the first confirmation");
}

/// Mail queued behind the workers' backs (no wake-up): copies of the account's sent
/// "password changed" mail, due now, `claimed` as SQL says.
async fn queue_copies_of_the_password_mail(app: &TestApp, copies: u32, claimed_until: &str) {
    app.execute(&format!(
        "INSERT INTO mail_outbox (user_id, recipient, kind, payload, created_at, \
                                  next_attempt_at, claimed_until) \
         SELECT user_id, recipient, kind, payload, created_at, created_at, {claimed_until} \
         FROM mail_outbox, generate_series(1, {copies}) WHERE kind = 'password_changed'"
    ))
    .await;
}

#[tokio::test]
async fn two_instances_delivering_at_once_send_each_mail_once() {
    let database = Arc::new(TestDatabase::create().await);
    let (a, mailbox_a) = spawn_app_with_memory_mail(database.clone()).await;
    let (b, mailbox_b) = spawn_app_with_memory_mail(database).await;
    let device = a.user_with_one_session().await;
    change_password(&device).await;
    a.deliver_mail().await;
    queue_copies_of_the_password_mail(&a, 40, "NULL").await;

    tokio::join!(a.deliver_mail(), b.deliver_mail());
    let received = [mailbox_a.received().await, mailbox_b.received().await].concat();
    let subjects = |subject: &str| {
        received
            .iter()
            .filter(|mail| mail.subject() == format!("Session Manager: {subject}"))
            .count()
    };
    assert_eq!(subjects("Your password was changed"), 41);
    assert_eq!(subjects("Confirm your e-mail address"), 1);
    assert_eq!(received.len(), 42);
    assert_eq!(a.unsent_mail().await, 0, "delivered now, outbox empty");
    // A mail sent twice would have been recorded twice.
    let attempts = a
        .sql("SELECT DISTINCT attempts, claimed_until FROM mail_outbox")
        .await;
    assert_eq!(attempts, [json!({"attempts": 1, "claimed_until": null})]);
}

#[tokio::test]
async fn a_mail_claimed_by_an_instance_that_died_is_sent_once_its_claim_runs_out() {
    let database = Arc::new(TestDatabase::create().await);
    let (app, mailbox) = spawn_app_with_memory_mail(database).await;
    let device = app.user_with_one_session().await;
    change_password(&device).await;
    app.deliver_mail().await;
    assert_eq!(mailbox.received().await.len(), 2);
    // An instance claimed one more for five minutes, then died before sending it.
    queue_copies_of_the_password_mail(&app, 1, "now() + interval '5 minutes'").await;

    assert_eq!(app.deliver_due_mail().await.sent, 0, "the claim holds");
    assert_eq!(mailbox.received().await.len(), 2);
    assert_eq!(app.unsent_mail().await, 1);
    app.clock.advance(chrono::Duration::minutes(6));
    app.deliver_mail().await;
    let received = mailbox.received().await;
    assert_eq!(received.len(), 3);
    assert_eq!(
        received[2].subject(),
        "Session Manager: Your password was changed"
    );
    assert_eq!(app.unsent_mail().await, 0);
}
