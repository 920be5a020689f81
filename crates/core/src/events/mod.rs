//! Every change a device must hear about is announced here, and only here — through
//! PostgreSQL, so that every instance hears it.
//!
//! Services write through a [`unit_of_work`], which collects what they change (activity-log
//! entries, mail and [`Event`]s) and saves it in the transaction that made the change: the
//! events go out with `NOTIFY` there, so PostgreSQL delivers them exactly when that
//! transaction commits, to every
//! instance (one instance alone uses the same path). Each instance's [`listener`] receives
//! them on a connection of its own and [`Events::deliver`]s each to the sockets it holds
//! (the [`Hub`]). An event carries ids and kinds only (payloads are small); what a socket
//! needs beyond that is read when it is delivered.

pub mod hub;
pub mod listener;
pub mod unit_of_work;
mod webhooks;

use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use shared::ws::{PendingMessage, ServerMessage};
use shared::{ReplacedBy, SecurityAlert};
use uuid::Uuid;

pub use hub::{Hub, Outgoing, SocketCounts, UnboundedReceiver, WaitingOutgoing};

use crate::error::Error;
use crate::model::approval::{ApprovalChannel, ApprovalStatus};
use crate::model::mail::Mail;
use crate::model::session::EndReason;
use crate::storage::activity::NewEntry;
use crate::storage::{DbPool, approvals, outbox, webhooks as stored_webhooks};
use crate::wire;

/// Something that happened to an account, as its devices hear of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    SessionStarted {
        user_id: Uuid,
        session_id: Uuid,
    },
    SessionEnded {
        user_id: Uuid,
        session_id: Uuid,
        reason: EndReason,
        /// Which login took its place (reason `replaced`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replaced_by: Option<ReplacedBy>,
    },
    ApprovalRequested {
        user_id: Uuid,
        approval_id: Uuid,
    },
    ApprovalCodeRejected {
        user_id: Uuid,
        approval_id: Uuid,
        tries_left: i32,
    },
    /// The request is over: approved (waiting for completion), denied, expired, locked,
    /// refused at the limit or cancelled.
    ApprovalResolved {
        user_id: Uuid,
        approval_id: Uuid,
        outcome: ApprovalStatus,
        /// The signed-in devices hear only of requests that prompted them.
        #[serde(default = "device_channel")]
        channel: ApprovalChannel,
    },
    ApprovalCompleted {
        user_id: Uuid,
        approval_id: Uuid,
    },
    PasswordChanged {
        user_id: Uuid,
    },
    /// Something the user should know about (a few short strings: well within NOTIFY's
    /// 8000 bytes). Not sent to the sockets of `except_session` (the session it is about).
    SecurityAlert {
        user_id: Uuid,
        except_session: Option<Uuid>,
        alert: SecurityAlert,
    },
    /// Mail was queued: every instance's mail worker wakes up (one of them sends it).
    MailQueued,
    /// Webhook deliveries were queued: every instance's webhook worker wakes up.
    WebhookQueued,
}

impl Event {
    /// The account it is about (none for the workers' wake-ups).
    fn account(&self) -> Option<Uuid> {
        match self {
            Self::SessionStarted { user_id, .. }
            | Self::SessionEnded { user_id, .. }
            | Self::ApprovalRequested { user_id, .. }
            | Self::ApprovalCodeRejected { user_id, .. }
            | Self::ApprovalResolved { user_id, .. }
            | Self::ApprovalCompleted { user_id, .. }
            | Self::PasswordChanged { user_id }
            | Self::SecurityAlert { user_id, .. } => Some(*user_id),
            Self::MailQueued | Self::WebhookQueued => None,
        }
    }
}

/// Events from an instance that predates `channel` were about device requests.
fn device_channel() -> ApprovalChannel {
    ApprovalChannel::Device
}

/// What one transaction changed: entries for the activity log, mail, and events for the
/// devices (and, from the events and the log, deliveries for webhooks). Made and saved only by the [`unit_of_work`], which cannot end without saving it.
#[derive(Debug, Default)]
struct Changes {
    log: Vec<NewEntry>,
    events: Vec<Event>,
    /// Mail to the account's address.
    mail: Vec<(Uuid, Mail)>,
    /// Mail to another address: `(account, if it still exists; recipient; mail)`.
    mail_to: Vec<(Option<Uuid>, String, Mail)>,
}

impl Changes {
    /// The accounts whose rows this transaction changed (for read-your-writes).
    fn accounts(&self) -> Vec<Uuid> {
        let mut accounts: Vec<Uuid> = self
            .log
            .iter()
            .map(|entry| entry.user_id)
            .chain(self.events.iter().filter_map(Event::account))
            .chain(self.mail.iter().map(|(user_id, _)| *user_id))
            .chain(self.mail_to.iter().filter_map(|(user_id, _, _)| *user_id))
            .collect();
        accounts.sort_unstable();
        accounts.dedup();
        accounts
    }

    /// Writes the log entries, queues the mail and publishes the events, last in the
    /// transaction (nothing of it exists unless the change commits).
    async fn save(&self, conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> Result<(), Error> {
        crate::storage::activity::insert(conn, &self.log).await?;
        let mail_queued = self.queue_mail(conn).await?;
        let deliveries = webhooks::deliveries(&self.events, &self.log, now)?;
        let webhooks_queued = stored_webhooks::enqueue(conn, &deliveries, now).await? > 0;
        let wake_workers = [
            mail_queued.then_some(Event::MailQueued),
            webhooks_queued.then_some(Event::WebhookQueued),
        ];
        publish(
            conn,
            self.events.iter().chain(wake_workers.iter().flatten()),
        )
        .await?;
        count(&self.events);
        Ok(())
    }

    /// True when any mail was queued.
    async fn queue_mail(&self, conn: &mut AsyncPgConnection) -> Result<bool, Error> {
        let mut queued = false;
        for (user_id, mail) in &self.mail {
            let Some(kind) = mail.kind() else {
                continue;
            };
            let payload = mail.payload().map_err(Error::internal)?;
            let quiet_since = kind
                .quiet_period()
                .and_then(|quiet| chrono::Duration::from_std(quiet).ok())
                .and_then(|quiet| mail.at().checked_sub_signed(quiet));
            queued |= outbox::enqueue(
                conn,
                *user_id,
                kind.as_str(),
                &payload,
                mail.at(),
                quiet_since,
            )
            .await?;
        }
        for (user_id, recipient, mail) in &self.mail_to {
            let Some(kind) = mail.kind() else {
                continue;
            };
            let payload = mail.payload().map_err(Error::internal)?;
            outbox::enqueue_to(
                conn,
                *user_id,
                recipient,
                kind.as_str(),
                &payload,
                mail.at(),
            )
            .await?;
            queued = true;
        }
        Ok(queued)
    }
}

/// Counts what happened for Prometheus, once, on the instance that made the change (every
/// instance hears the events; counting there would multiply them).
fn count(events: &[Event]) {
    use crate::telemetry::metrics::{APPROVALS, SESSIONS_ENDED, SESSIONS_STARTED};
    for event in events {
        match event {
            Event::SessionStarted { .. } => metrics::counter!(SESSIONS_STARTED).increment(1),
            Event::SessionEnded { reason, .. } => {
                metrics::counter!(SESSIONS_ENDED, "reason" => reason.as_str()).increment(1);
            }
            Event::ApprovalResolved { outcome, .. } => {
                metrics::counter!(APPROVALS, "outcome" => outcome.as_str()).increment(1);
            }
            Event::ApprovalCompleted { .. } => {
                metrics::counter!(APPROVALS, "outcome" => "completed").increment(1);
            }
            Event::ApprovalRequested { .. }
            | Event::ApprovalCodeRejected { .. }
            | Event::PasswordChanged { .. }
            | Event::SecurityAlert { .. }
            | Event::MailQueued
            | Event::WebhookQueued => {}
        }
    }
}

/// The channel every instance listens on.
pub const CHANNEL: &str = "session_events";

#[diesel::declare_sql_function]
extern "SQL" {
    /// `migrations/2026-12-14-000001_login_statements_prepared`: `pg_notify` for each payload,
    /// in order; how many.
    fn publish_events(channel: Text, payloads: Array<Text>) -> diesel::sql_types::Integer;
}

/// Publishes events in the caller's transaction (one statement for them all, in order).
pub async fn publish<'a>(
    conn: &mut AsyncPgConnection,
    events: impl IntoIterator<Item = &'a Event>,
) -> Result<(), Error> {
    let payloads = events
        .into_iter()
        .map(serde_json::to_string)
        .collect::<Result<Vec<_>, _>>()
        .map_err(Error::internal)?;
    if payloads.is_empty() {
        return Ok(());
    }
    // A function call, which diesel keeps prepared (`pg_notify` over `unnest` could only be
    // sent as raw SQL, planned anew in every transaction).
    diesel::select(publish_events(CHANNEL, &payloads))
        .get_result::<i32>(conn)
        .await?;
    Ok(())
}

/// Delivers events to the sockets this process holds.
pub struct Events {
    hub: Hub,
    pool: DbPool,
    max_attempts: i32,
    /// The listener is connected: this instance hears every event (`/readyz`).
    listening: AtomicBool,
    /// Wakes this instance's mail worker when mail was queued anywhere.
    mail_queued: tokio::sync::Notify,
    /// Wakes this instance's webhook worker when a delivery was queued anywhere.
    webhook_queued: tokio::sync::Notify,
}

impl Events {
    pub fn new(pool: DbPool, max_attempts: i32) -> Self {
        Self {
            hub: Hub::default(),
            pool,
            max_attempts,
            listening: AtomicBool::new(false),
            mail_queued: tokio::sync::Notify::new(),
            webhook_queued: tokio::sync::Notify::new(),
        }
    }

    /// Resolves when mail was queued (on any instance) since the last call.
    pub async fn mail_queued(&self) {
        self.mail_queued.notified().await;
    }

    /// Resolves when a webhook delivery was queued (on any instance) since the last call.
    pub async fn webhook_queued(&self) {
        self.webhook_queued.notified().await;
    }

    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    pub fn is_listening(&self) -> bool {
        AtomicBool::load(&self.listening, Ordering::SeqCst)
    }

    fn set_listening(&self, listening: bool) {
        self.listening.store(listening, Ordering::SeqCst);
    }

    /// Delivers one published event (a notification's payload) to the local sockets.
    pub async fn deliver_payload(&self, payload: &str) {
        match serde_json::from_str::<Event>(payload) {
            Ok(event) => self.deliver(&event).await,
            Err(error) => tracing::warn!(%error, "ignoring an event this version does not know"),
        }
    }

    pub async fn deliver(&self, event: &Event) {
        match event.clone() {
            // One stored wake-up is enough however many arrive while the worker is busy.
            Event::MailQueued => self.mail_queued.notify_one(),
            Event::WebhookQueued => self.webhook_queued.notify_one(),
            Event::SessionStarted { user_id, .. } | Event::PasswordChanged { user_id } => {
                self.hub
                    .send_to_user(user_id, &ServerMessage::SessionsChanged);
            }
            Event::SessionEnded {
                user_id,
                session_id,
                reason,
                replaced_by,
            } => {
                self.hub.end_session(
                    user_id,
                    session_id,
                    &ServerMessage::SessionRevoked {
                        reason: reason.into(),
                        replaced_by,
                    },
                );
                self.hub
                    .send_to_user(user_id, &ServerMessage::SessionsChanged);
            }
            Event::SecurityAlert {
                user_id,
                except_session,
                alert,
            } => self.hub.send_to_user_except(
                user_id,
                except_session,
                &ServerMessage::SecurityAlert { alert },
            ),
            Event::ApprovalRequested {
                user_id,
                approval_id,
            } => {
                // Read only when someone here listens; a request decided meanwhile is not shown.
                if self.hub.has_user(user_id)
                    && let Some(approval) = self.pending_approval(approval_id).await
                {
                    self.hub.send_to_user(
                        user_id,
                        &ServerMessage::ApprovalRequested {
                            approval: wire::pending_approval(&approval, self.max_attempts),
                        },
                    );
                }
            }
            Event::ApprovalCodeRejected {
                user_id,
                approval_id,
                tries_left,
            } => self.hub.send_to_user(
                user_id,
                &ServerMessage::ApprovalCodeRejected {
                    approval_id,
                    tries_left,
                },
            ),
            Event::ApprovalResolved {
                user_id,
                approval_id,
                outcome,
                channel,
            } => {
                if let Some(message) = waiting_device_message(outcome) {
                    self.hub.send_to_waiting(approval_id, &message);
                }
                if channel == ApprovalChannel::Device {
                    self.hub.send_to_user(
                        user_id,
                        &ServerMessage::ApprovalResolved {
                            approval_id,
                            outcome: outcome.into(),
                        },
                    );
                }
            }
            Event::ApprovalCompleted {
                user_id,
                approval_id,
            } => {
                self.hub
                    .send_to_waiting(approval_id, &PendingMessage::Completed);
                self.hub
                    .send_to_user(user_id, &ServerMessage::SessionsChanged);
            }
        }
    }

    async fn pending_approval(&self, approval_id: Uuid) -> Option<approvals::ApprovalRow> {
        let result = async {
            let mut conn = self.pool.get().await?;
            Ok::<_, Error>(approvals::find(&mut conn, approval_id).await?)
        }
        .await;
        match result {
            Ok(approval) => approval.filter(|approval| approval.status.is_pending()),
            Err(error) => {
                tracing::warn!(error = %error.chain(), "cannot read a login request to announce it");
                None
            }
        }
    }
}

/// What the waiting device is told about its request in this status (`None` while pending).
pub fn waiting_device_message(status: ApprovalStatus) -> Option<PendingMessage> {
    match status {
        ApprovalStatus::Pending => None,
        ApprovalStatus::Approved => Some(PendingMessage::Approved),
        ApprovalStatus::Completed => Some(PendingMessage::Completed),
        ApprovalStatus::Denied => Some(PendingMessage::Denied),
        ApprovalStatus::Expired => Some(PendingMessage::Expired),
        ApprovalStatus::Locked => Some(PendingMessage::Locked),
        ApprovalStatus::SessionLimit => Some(PendingMessage::SessionLimit),
        ApprovalStatus::Cancelled => Some(PendingMessage::Cancelled),
    }
}
