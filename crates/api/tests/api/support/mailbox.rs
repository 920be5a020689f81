//! Mailboxes the tests read: a small SMTP server on a local port (a real SMTP
//! conversation; it stores what it receives), or the mail worker's in-memory transport;
//! and the fixtures built on them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use api::config::Settings;
use api::config::server::DEFAULT_APP_NAME;
use api::services::mailer::Transport;
use lettre::transport::stub::AsyncStubTransport;
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::{CHROME_LINUX, Device, TestApp, spawn_app_with};

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
        Self::start_with(TcpListener::bind("127.0.0.1:0").await.unwrap())
    }

    /// A mailbox answering on `listener` (one made from a socket bound earlier: a port no
    /// other process can take meanwhile).
    pub fn start_with(listener: TcpListener) -> Self {
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

/// Where an instance built by `spawn_app_with_memory_mail` puts what it sends.
#[derive(Clone)]
pub struct MemoryMailbox {
    transport: AsyncStubTransport,
}

impl Default for MemoryMailbox {
    fn default() -> Self {
        Self {
            transport: AsyncStubTransport::new_ok(),
        }
    }
}

impl MemoryMailbox {
    /// The mail worker's transport, writing into this mailbox.
    pub fn transport(&self) -> Transport {
        Transport::Memory(self.transport.clone())
    }

    /// Every mail sent so far, in order.
    pub async fn received(&self) -> Vec<Received> {
        self.transport
            .messages()
            .await
            .into_iter()
            .map(|(envelope, data)| Received {
                to: envelope.to().iter().map(ToString::to_string).collect(),
                data: data.replace("\r\n", "\n"),
            })
            .collect()
    }
}
