//! What a transaction's changes tell webhooks: each event and log entry that an endpoint may
//! subscribe to becomes a delivery, queued in the same transaction (as mail is). The events
//! say what happened to sessions and requests; the log entries what only the log records
//! (a refused login, a new device, the account secured) with the device that did it.

use chrono::{DateTime, Utc};
use shared::{AlertKind, WebhookData, WebhookEventType, WebhookPayload};
use uuid::Uuid;

use super::Event;
use crate::error::Error;
use crate::model::activity::ActivityKind;
use crate::storage::activity::NewEntry;
use crate::storage::webhooks::NewDelivery;

/// The deliveries `events` and `log` call for (before they are matched with endpoints).
pub(super) fn deliveries(
    events: &[Event],
    log: &[NewEntry],
    now: DateTime<Utc>,
) -> Result<Vec<NewDelivery>, Error> {
    let from_events = events.iter().filter_map(|event| from_event(event, now));
    let from_log = log.iter().filter_map(from_entry);
    from_events
        .chain(from_log)
        .map(|(event_type, data, at)| delivery(event_type, data, at))
        .collect()
}

fn delivery(
    event_type: WebhookEventType,
    data: WebhookData,
    timestamp: DateTime<Utc>,
) -> Result<NewDelivery, Error> {
    let (user_id, session_id, approval_id) = (data.user_id, data.session_id, data.approval_id);
    let payload = serde_json::to_string(&WebhookPayload {
        event_type,
        timestamp,
        data,
    })
    .map_err(Error::internal)?;
    Ok(NewDelivery {
        event_type: event_type.as_str(),
        payload,
        user_id,
        session_id,
        approval_id,
    })
}

fn data(user_id: Uuid) -> WebhookData {
    WebhookData {
        user_id,
        ..WebhookData::default()
    }
}

fn from_event(
    event: &Event,
    now: DateTime<Utc>,
) -> Option<(WebhookEventType, WebhookData, DateTime<Utc>)> {
    let (event_type, data) = match event {
        Event::SessionStarted {
            user_id,
            session_id,
        } => (
            WebhookEventType::SessionCreated,
            WebhookData {
                session_id: Some(*session_id),
                ..data(*user_id)
            },
        ),
        Event::SessionEnded {
            user_id,
            session_id,
            reason,
            ..
        } => (
            WebhookEventType::SessionEnded,
            WebhookData {
                session_id: Some(*session_id),
                reason: Some((*reason).into()),
                ..data(*user_id)
            },
        ),
        Event::ApprovalRequested {
            user_id,
            approval_id,
        } => (
            WebhookEventType::ApprovalRequested,
            WebhookData {
                approval_id: Some(*approval_id),
                ..data(*user_id)
            },
        ),
        Event::ApprovalResolved {
            user_id,
            approval_id,
            outcome,
            ..
        } => (
            WebhookEventType::ApprovalDecided,
            WebhookData {
                approval_id: Some(*approval_id),
                outcome: Some((*outcome).into()),
                ..data(*user_id)
            },
        ),
        // The log says these with the device that did them (`from_entry`).
        Event::PasswordChanged { .. }
        | Event::SecurityAlert { .. }
        | Event::ApprovalCodeRejected { .. }
        | Event::ApprovalCompleted { .. }
        | Event::MailQueued
        | Event::WebhookQueued => return None,
    };
    Some((event_type, data, now))
}

fn from_entry(entry: &NewEntry) -> Option<(WebhookEventType, WebhookData, DateTime<Utc>)> {
    let (event_type, alert) = match entry.kind {
        ActivityKind::LoginRefused => (WebhookEventType::LoginRefused, None),
        ActivityKind::NewDeviceLogin => (WebhookEventType::AlertRaised, Some(AlertKind::NewDevice)),
        ActivityKind::NewCountryLogin => {
            (WebhookEventType::AlertRaised, Some(AlertKind::NewCountry))
        }
        ActivityKind::SuspiciousLoginDenied => (
            WebhookEventType::AlertRaised,
            Some(AlertKind::SuspiciousLoginDenied),
        ),
        ActivityKind::PasswordChanged | ActivityKind::PasswordReset => {
            (WebhookEventType::PasswordChanged, None)
        }
        ActivityKind::AccountSecured => (WebhookEventType::AccountSecured, None),
        _ => return None,
    };
    Some((
        event_type,
        WebhookData {
            session_id: entry.session_id,
            device: entry.device.clone(),
            ip: entry.ip.clone(),
            alert,
            detail: entry.detail.clone(),
            ..data(entry.user_id)
        },
        entry.created_at,
    ))
}
