//! Mail to the account's address, through a real SMTP conversation with a small server the
//! tests start (it stores what it receives): what is mailed, that nothing is lost while the
//! server is down, and that two instances never send one mail twice.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use api::config::server::DEFAULT_APP_NAME;
use api::config::{LimitPolicy, Settings};
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::*;

/// One message as the SMTP server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub to: Vec<String>,
    /// Headers and body, as sent.
    pub data: String,
}

impl Received {
    pub fn subject(&self) -> &str {
        self.data
            .lines()
            .find_map(|line| line.strip_prefix("Subject: "))
            .unwrap_or_default()
    }

    /// The mail's text, quoted-printable undone.
    pub fn text(&self) -> String {
        self.data.replace("=\n", "").replace("=3D", "=")
    }

    /// The token of the (first) link in the mail.
    pub fn link_token(&self) -> String {
        let text = self.text();
        let start = text.find("#token=").expect("a link with a token") + "#token=".len();
        text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    }

    /// The token of the mail's "This wasn't me" link.
    pub fn secure_account_token(&self) -> String {
        let text = self.text();
        let start = text
            .find("/secure-account#token=")
            .expect("a \"this wasn't me\" link")
            + "/secure-account#token=".len();
        text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    }

    /// The 6-digit sign-in code the mail carries.
    pub fn code(&self) -> String {
        let text = self.text();
        let start = text.find("Your code: ").expect("a sign-in code") + "Your code: ".len();
        text[start..].chars().take(6).collect()
    }
}

/// A server that mails to a fresh test mailbox (polling each second).
pub async fn app_with_mailbox() -> (TestApp, Mailbox) {
    app_with_mailbox_and(|_| {}).await
}

/// The same, with more settings changed.
pub async fn app_with_mailbox_and(
    configure: impl FnOnce(&mut Settings) + 'static,
) -> (TestApp, Mailbox) {
    let mailbox = Mailbox::start().await;
    let url = mailbox.url();
    let app = spawn_app_with(move |settings| {
        settings.mail.smtp_url = Some(url.into());
        settings.mail.poll = Duration::from_secs(1);
        configure(settings);
    })
    .await;
    (app, mailbox)
}

/// The latest mail with this subject (waiting for the first).
pub async fn mail_with_subject(mailbox: &Mailbox, subject: &str) -> Received {
    let mut mails = mailbox.wait_for_subject(subject, 1).await;
    mails.pop().expect("one mail at least")
}

/// A user who signed up on this device (still signed in there) and confirmed the address
/// from the mailed link.
pub async fn verified_user(app: &TestApp, mailbox: &Mailbox) -> Device {
    let device = app.user_with_one_session().await;
    let mail = mail_with_subject(mailbox, "Confirm your e-mail address").await;
    let confirmed = app
        .device(CHROME_LINUX)
        .post(
            "/api/auth/verify-email",
            json!({"token": mail.link_token()}),
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    device
}

/// The tests' mailbox: an SMTP server on a local port.
pub struct Mailbox {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Mailbox {
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    pub async fn start_on(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(converse(stream, store.clone()));
            }
        });
        Self {
            port,
            received,
            server,
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `count` messages with this subject (after the default app name:
    /// "Session Manager: <subject>") arrived; other mail, such as the confirmation every
    /// signup sends, is skipped.
    pub async fn wait_for_subject(&self, subject: &str, count: usize) -> Vec<Received> {
        self.wait_for_subject_within(subject, count, Duration::from_secs(20))
            .await
    }

    pub async fn wait_for_subject_within(
        &self,
        subject: &str,
        count: usize,
        within: Duration,
    ) -> Vec<Received> {
        let subject = format!("{DEFAULT_APP_NAME}: {subject}");
        self.wait_until(count, within, |mail| mail.subject() == subject)
            .await
    }

    /// Waits until `count` messages arrived (fails the test after `within`).
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Received> {
        self.wait_until(count, within, |_| true).await
    }

    /// Waits until `count` of the messages received are ones `wanted` keeps, and returns them.
    async fn wait_until(
        &self,
        count: usize,
        within: Duration,
        wanted: impl Fn(&Received) -> bool,
    ) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let received = self.received();
            let kept: Vec<Received> = received
                .iter()
                .filter(|mail| wanted(mail))
                .cloned()
                .collect();
            if kept.len() >= count {
                return kept;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "expected {count} messages, got {:?}",
                received.iter().map(Received::subject).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The server side of one SMTP connection (RFC 5321, the commands a client needs).
async fn converse(stream: TcpStream, store: Arc<Mutex<Vec<Received>>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut to = Vec::new();
    let reply = async |write: &mut tokio::net::tcp::OwnedWriteHalf, text: &str| {
        write.write_all(text.as_bytes()).await.is_ok()
    };
    if !reply(&mut write, "220 localhost test SMTP\r\n").await {
        return;
    }
    while let Ok(Some(line)) = lines.next_line().await {
        let command = line.to_ascii_uppercase();
        let answer = if command.starts_with("EHLO") || command.starts_with("HELO") {
            "250-localhost\r\n250 8BITMIME\r\n".to_owned()
        } else if command.starts_with("MAIL FROM:") {
            to.clear();
            "250 OK\r\n".to_owned()
        } else if let Some(address) = line.get(8..).filter(|_| command.starts_with("RCPT TO:")) {
            to.push(
                address
                    .trim_matches(|c| c == '<' || c == '>' || c == ' ')
                    .to_owned(),
            );
            "250 OK\r\n".to_owned()
        } else if command == "DATA" {
            if !reply(&mut write, "354 end with <CRLF>.<CRLF>\r\n").await {
                return;
            }
            let mut data = String::new();
            while let Ok(Some(line)) = lines.next_line().await {
                if line == "." {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                data.push('\n');
            }
            store.lock().unwrap().push(Received {
                to: std::mem::take(&mut to),
                data,
            });
            "250 OK queued\r\n".to_owned()
        } else if command == "QUIT" {
            let _ = reply(&mut write, "221 bye\r\n").await;
            return;
        } else if command == "RSET" || command == "NOOP" {
            "250 OK\r\n".to_owned()
        } else {
            "502 not implemented\r\n".to_owned()
        };
        if !reply(&mut write, &answer).await {
            return;
        }
    }
}

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
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(mailbox.received().len(), 2);
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
    // A port with nothing listening on it yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
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

    let mailbox = Mailbox::start_on(port).await;
    mailbox
        .wait_for_subject("Your password was changed", 1)
        .await;
    mailbox
        .wait_for_subject("Confirm your e-mail address", 1)
        .await;
    // Both instances keep polling; neither sends either again.
    tokio::time::sleep(Duration::from_secs(3)).await;
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
