//! The mail worker: sends what the outbox holds over `SMTP_URL`, or writes it to the log
//! when no SMTP server is configured. Every instance runs one; `FOR UPDATE SKIP LOCKED`
//! gives each mail to one of them. A failed send is retried with a doubling delay; nothing
//! waits for SMTP but this worker.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use lettre::message::{Mailbox, MultiPart};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use shared::Secret;

use crate::error::Error;
use crate::model::mail::render::Rendered;
use crate::model::mail::{self, MailKind};
use crate::services::recovery;
use crate::state::AppState;
use crate::storage::outbox::{self, OutboxRow};

/// Mails claimed per transaction (the rows stay locked while they are sent).
const BATCH: i64 = 10;

/// How mail leaves this instance.
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// No `SMTP_URL`: each mail is written to the log (development).
    Log,
}

impl Transport {
    pub fn from_settings(settings: &crate::config::Settings) -> Result<Self, Error> {
        match &settings.mail.smtp_url {
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .map_err(Error::internal)?
                    .timeout(Some(std::time::Duration::from_secs(10)))
                    .build();
                Ok(Self::Smtp(transport))
            }
            None => Ok(Self::Log),
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
}

pub async fn run(state: &AppState) {
    let transport = match Transport::from_settings(&state.settings) {
        Ok(transport) => transport,
        Err(error) => {
            // Settings validated the URL; this cannot happen short of a lettre change.
            tracing::error!(error = %error.chain(), "cannot set up SMTP; no mail is sent");
            return;
        }
    };
    if matches!(transport, Transport::Log) {
        tracing::info!("SMTP_URL is not set: mail is written to this log instead of sent");
    }
    tracing::info!(
        new_device_email_check = state.settings.mail.checks_new_devices_by_email(),
        "an unrecognised device that no device can approve {} a code mailed to the account",
        if state.settings.mail.checks_new_devices_by_email() {
            "needs"
        } else {
            "does not need (NEW_DEVICE_EMAIL_CHECK)"
        }
    );
    let mut interval = tokio::time::interval(state.settings.mail.poll);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            () = state.events.mail_queued() => {}
        }
        // A full batch means more may be due: go on until the outbox is drained.
        loop {
            match deliver_due(state, &transport).await {
                Ok(delivered) if delivered.sent + delivered.failed >= batch_size() => {}
                Ok(_) => break,
                Err(error) => {
                    tracing::warn!(error = %error.chain(), "mail pass failed; retrying later");
                    break;
                }
            }
        }
    }
}

fn batch_size() -> usize {
    usize::try_from(BATCH).unwrap_or(1)
}

/// Sends the mail that is due, as far as the SMTP server takes it.
pub async fn deliver_due(state: &AppState, transport: &Transport) -> Result<Delivered, Error> {
    let mut conn = state.pool.get().await?;
    // Not `storage::transaction::run`, which runs a transaction again after a conflict: this
    // one sends mail, which a second run would send again (a failed pass is retried later).
    conn.transaction::<_, Error, _>(async |conn| deliver_batch(state, transport, conn).await)
        .await
}

async fn deliver_batch(
    state: &AppState,
    transport: &Transport,
    conn: &mut AsyncPgConnection,
) -> Result<Delivered, Error> {
    use crate::telemetry::metrics::MAIL;
    let mut delivered = Delivered::default();
    for row in outbox::claim_due(conn, state.now(), BATCH).await? {
        let now = state.now();
        let secure_token = match (MailKind::parse(&row.kind), row.user_id) {
            (Some(kind), Some(user_id)) if kind.offers_secure_link() => {
                recovery::secure_link_for(conn, user_id, &row.recipient, now).await?
            }
            _ => None,
        };
        match send(state, transport, &row, secure_token.as_ref()).await {
            Ok(()) => {
                outbox::mark_sent(conn, row.id, now).await?;
                // Mail written to the log never left: it is not counted as sent.
                let outcome = match transport {
                    Transport::Log => "logged",
                    Transport::Smtp(_) => "sent",
                };
                metrics::counter!(MAIL, "outcome" => outcome).increment(1);
                delivered.sent += 1;
            }
            Err(Failure::Permanent(reason)) => {
                tracing::error!(mail_id = row.id, kind = %row.kind, %reason, "mail refused for good");
                outbox::mark_failed(conn, row.id, &reason, now).await?;
                metrics::counter!(MAIL, "outcome" => "failed").increment(1);
                delivered.failed += 1;
            }
            Err(Failure::Transient(reason)) => {
                let attempts = u32::try_from(row.attempts.saturating_add(1)).unwrap_or(1);
                let delay = mail::retry_delay(state.settings.mail.retry, attempts);
                let next = now + chrono::Duration::from_std(delay).unwrap_or_default();
                tracing::warn!(mail_id = row.id, attempts, %reason, retry_at = %next, "mail not sent");
                outbox::mark_retry(conn, row.id, &reason, next).await?;
                metrics::counter!(MAIL, "outcome" => "retry").increment(1);
                delivered.retrying += 1;
                // The server is likely down: the rest of the batch waits for the next pass.
                break;
            }
        }
    }
    Ok(delivered)
}

enum Failure {
    /// The mail can never be sent (a malformed address, a permanent SMTP refusal).
    Permanent(String),
    Transient(String),
}

async fn send(
    state: &AppState,
    transport: &Transport,
    row: &OutboxRow,
    secure_token: Option<&Secret>,
) -> Result<(), Failure> {
    let rendered = render(state, row, secure_token)?;
    match transport {
        Transport::Log => {
            tracing::info!(
                to = %row.recipient,
                subject = %rendered.subject,
                body = %rendered.text,
                "mail (not sent: SMTP_URL is not set)"
            );
            Ok(())
        }
        Transport::Smtp(smtp) => {
            let message = message(state, row, rendered)?;
            match smtp.send(message).await {
                Ok(_) => Ok(()),
                Err(error) if error.is_permanent() => Err(Failure::Permanent(error.to_string())),
                Err(error) => Err(Failure::Transient(error.to_string())),
            }
        }
    }
}

fn render(
    state: &AppState,
    row: &OutboxRow,
    secure_token: Option<&Secret>,
) -> Result<Rendered, Failure> {
    let kind = MailKind::parse(&row.kind)
        .ok_or_else(|| Failure::Permanent(format!("unknown mail kind {:?}", row.kind)))?;
    let public_url = state.settings.server.public_url();
    let sender = mail::Sender {
        app_name: &state.settings.server.app_name,
        public_url: &public_url,
    };
    mail::render::render(kind, &row.payload, sender, secure_token.map(Secret::expose))
        .map_err(Failure::Permanent)
}

fn message(state: &AppState, row: &OutboxRow, rendered: Rendered) -> Result<Message, Failure> {
    let from: Mailbox = state
        .settings
        .mail
        .from
        .parse()
        .map_err(|error| Failure::Permanent(format!("MAIL_FROM: {error}")))?;
    // The bare address, never a display name: what `parse` would read as a name in a stored
    // address (one accepted under an older, looser rule) must not reach the mail.
    let address: Address = row
        .recipient
        .parse()
        .map_err(|error| Failure::Permanent(format!("recipient: {error}")))?;
    let to = Mailbox::new(None, address);
    Message::builder()
        .from(from)
        .to(to)
        .subject(rendered.subject)
        .multipart(MultiPart::alternative_plain_html(
            rendered.text,
            rendered.html,
        ))
        .map_err(|error| Failure::Permanent(error.to_string()))
}
