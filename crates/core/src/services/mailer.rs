//! The mail worker: sends what the outbox holds over `SMTP_URL`, or writes it to the log
//! when no SMTP server is configured. Every instance runs one. Each mail is claimed for a
//! while (`policy::MAIL_CLAIM_LEASE`) in a short transaction, sent outside any transaction (no row stays locked
//! while the SMTP server answers), and its outcome recorded in another; a mail whose worker
//! died is claimed again when the claim runs out. A failed send is retried with a doubling
//! delay; nothing waits for SMTP but this worker.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::stub::AsyncStubTransport;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use shared::Secret;

use crate::error::Error;
use crate::model::mail::render::Rendered;
use crate::model::mail::{self, MailKind};
use crate::model::policy::MAIL_CLAIM_LEASE;
use crate::services::recovery;
use crate::state::AppState;
use crate::storage::outbox::{self, OutboxRow};

/// Mails sent per pass before the worker looks at its timer and wake-ups again.
const BATCH: usize = 10;

/// How mail leaves this instance.
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// No `SMTP_URL`: each mail is written to the log (development).
    Log,
    /// Kept in memory, where the tests read it (`Application::with_mail_transport`).
    Memory(AsyncStubTransport),
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

pub async fn run(state: &AppState, transport: &Transport) {
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
            match deliver_due(state, transport).await {
                Ok(delivered) if delivered.sent + delivered.failed >= BATCH => {}
                Ok(_) => break,
                Err(error) => {
                    tracing::warn!(error = %error.chain(), "mail pass failed; retrying later");
                    break;
                }
            }
        }
    }
}

/// Sends the mail that is due, up to a batch, as far as the SMTP server takes it.
pub async fn deliver_due(state: &AppState, transport: &Transport) -> Result<Delivered, Error> {
    let mut delivered = Delivered::default();
    while delivered.sent + delivered.failed < BATCH {
        let Some(claimed) = claim_next(state).await? else {
            break;
        };
        match deliver(state, transport, &claimed).await? {
            Outcome::Sent => delivered.sent += 1,
            Outcome::Failed => delivered.failed += 1,
            Outcome::Retrying => {
                delivered.retrying += 1;
                // The server is likely down: the rest waits for the next pass.
                break;
            }
        }
    }
    Ok(delivered)
}

/// A mail this worker holds until its claim runs out, with the "this wasn't me" link it
/// offers, if any.
struct Claimed {
    row: OutboxRow,
    secure_token: Option<Secret>,
}

/// Claims the next mail due, in a transaction of its own that commits before it is sent.
async fn claim_next(state: &AppState) -> Result<Option<Claimed>, Error> {
    let now = state.now();
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, Error, _>(async |conn| {
        let Some(row) = outbox::claim_next(conn, now, now + MAIL_CLAIM_LEASE).await? else {
            return Ok(None);
        };
        // Minted with the claim, so the link works by the time the mail arrives.
        let secure_token = secure_link(conn, &row, now).await?;
        Ok(Some(Claimed { row, secure_token }))
    })
    .await
}

async fn secure_link(
    conn: &mut AsyncPgConnection,
    row: &OutboxRow,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<Secret>, Error> {
    match (MailKind::parse(&row.kind), row.user_id) {
        (Some(kind), Some(user_id)) if kind.offers_secure_link() => {
            recovery::secure_link_for(conn, user_id, &row.recipient, row.created_at, now).await
        }
        _ => Ok(None),
    }
}

enum Outcome {
    Sent,
    Retrying,
    Failed,
}

/// Sends one claimed mail (no transaction open) and records what came of it.
async fn deliver(
    state: &AppState,
    transport: &Transport,
    claimed: &Claimed,
) -> Result<Outcome, Error> {
    use crate::telemetry::metrics::MAIL;
    let row = &claimed.row;
    let sent = send(state, transport, row, claimed.secure_token.as_ref()).await;
    let now = state.now();
    let mut conn = state.pool.get().await?;
    match sent {
        Ok(()) => {
            outbox::mark_sent(&mut conn, row.id, now).await?;
            // Mail written to the log never left: it is not counted as sent.
            let outcome = match transport {
                Transport::Log => "logged",
                Transport::Smtp(_) | Transport::Memory(_) => "sent",
            };
            metrics::counter!(MAIL, "outcome" => outcome).increment(1);
            Ok(Outcome::Sent)
        }
        Err(Failure::Permanent(reason)) => {
            tracing::error!(mail_id = row.id, kind = %row.kind, %reason, "mail refused for good");
            outbox::mark_failed(&mut conn, row.id, &reason, now).await?;
            metrics::counter!(MAIL, "outcome" => "failed").increment(1);
            Ok(Outcome::Failed)
        }
        Err(Failure::Transient(reason)) => {
            let attempts = u32::try_from(row.attempts.saturating_add(1)).unwrap_or(1);
            let delay = mail::retry_delay(state.settings.mail.retry, attempts);
            let next = now + chrono::Duration::from_std(delay).unwrap_or_default();
            tracing::warn!(mail_id = row.id, attempts, %reason, retry_at = %next, "mail not sent");
            outbox::mark_retry(&mut conn, row.id, &reason, next).await?;
            metrics::counter!(MAIL, "outcome" => "retry").increment(1);
            Ok(Outcome::Retrying)
        }
    }
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
        Transport::Memory(memory) => {
            let message = message(state, row, rendered)?;
            memory
                .send(message)
                .await
                .map_err(|error| Failure::Transient(error.to_string()))
        }
    }
}

fn render(
    state: &AppState,
    row: &OutboxRow,
    secure_token: Option<&Secret>,
) -> Result<Rendered, Failure> {
    // A kind this server does not know was queued by a newer one (a rolling deploy): tried
    // again later, when a newer instance may be the one that sends it.
    let kind = MailKind::parse(&row.kind).ok_or_else(|| {
        Failure::Transient(format!(
            "unknown mail kind {:?}: left for a newer instance",
            row.kind
        ))
    })?;
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
