//! Webhook endpoints as an operator manages them (`api admin webhook …`, and the admin
//! API): add one (its secret is shown then and only then), list them with their state,
//! remove one, look at its deliveries. What they are sent is queued by the unit of work
//! (`events::webhooks`) and delivered by `services::webhook_delivery`.

use std::net::IpAddr;

use shared::WebhookEventType;
pub use shared::admin::{
    CreatedWebhook, DeliveryState, EnabledWebhook, WebhookDelivery, WebhookEndpoint, WebhookState,
};
use uuid::Uuid;

use crate::error::Error;
use crate::model::webhooks;
use crate::state::AppState;
use crate::storage::webhooks::{self as stored, DeliveryRow, EndpointRow};

/// Deliveries `deliveries` shows, newest first.
const DELIVERIES_SHOWN: i64 = 100;

impl From<EndpointRow> for WebhookEndpoint {
    fn from(row: EndpointRow) -> Self {
        let state = if row.disabled_at.is_some() {
            WebhookState::Disabled
        } else if row.consecutive_failures > 0 {
            WebhookState::Failing
        } else {
            WebhookState::Enabled
        };
        Self {
            id: row.id,
            url: row.url,
            events: row
                .events
                .iter()
                .map(|event| WebhookEventType::from(event.as_str()))
                .collect(),
            state,
            created_at: row.created_at,
            disabled_at: row.disabled_at,
            failing_since: row.failing_since,
            consecutive_failures: row.consecutive_failures,
        }
    }
}

impl From<DeliveryRow> for WebhookDelivery {
    fn from(row: DeliveryRow) -> Self {
        let state = if row.delivered_at.is_some() {
            DeliveryState::Delivered
        } else if row.failed_at.is_some() {
            DeliveryState::Failed
        } else {
            DeliveryState::Pending
        };
        Self {
            id: row.id,
            event_type: WebhookEventType::from(row.event_type.as_str()),
            state,
            created_at: row.created_at,
            attempts: row.attempts,
            next_attempt_at: (state == DeliveryState::Pending).then_some(row.next_attempt_at),
            delivered_at: row.delivered_at,
            failed_at: row.failed_at,
            last_status: row.last_status,
            last_error: row.last_error,
        }
    }
}

/// Adds an endpoint for `events`. A URL whose host is an address deliveries may not go to is
/// refused at once (a name is checked at every delivery, as it resolves then).
pub async fn add(
    state: &AppState,
    url: &str,
    events: Vec<WebhookEventType>,
) -> Result<CreatedWebhook, Error> {
    let url = url.trim();
    webhooks::check_url(url).map_err(Error::Validation)?;
    let events = webhooks::check_events(events).map_err(Error::Validation)?;
    if !state.settings.webhooks.allow_private
        && let Some(ip) = literal_host(url)
        && !webhooks::is_public(ip)
    {
        return Err(Error::Validation(format!(
            "{ip} is a loopback, private or link-local address (WEBHOOK_ALLOW_PRIVATE=true allows it)"
        )));
    }
    let created = CreatedWebhook {
        id: Uuid::new_v4(),
        url: url.to_owned(),
        secret: webhooks::new_secret(),
        events,
    };
    let names: Vec<&str> = created.events.iter().map(|event| event.as_str()).collect();
    let mut conn = state.pool.get().await?;
    stored::insert_endpoint(
        &mut conn,
        created.id,
        &created.url,
        &names,
        &created.secret,
        state.now(),
    )
    .await?;
    tracing::info!(webhook_id = %created.id, url = %created.url, events = ?names, "webhook added");
    Ok(created)
}

/// The host of `url` when it is an IP address.
pub fn literal_host(url: &str) -> Option<IpAddr> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let host = parsed.host_str()?;
    // An IPv6 host is written in brackets.
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

pub async fn list(state: &AppState) -> Result<Vec<WebhookEndpoint>, Error> {
    let mut conn = state.pool.get().await?;
    let rows = stored::list_endpoints(&mut conn).await?;
    Ok(rows.into_iter().map(WebhookEndpoint::from).collect())
}

/// Removes an endpoint and its deliveries (nothing more is sent to it, even a retry).
pub async fn remove(state: &AppState, id: Uuid) -> Result<(), Error> {
    let mut conn = state.pool.get().await?;
    if !stored::delete_endpoint(&mut conn, id).await? {
        return Err(Error::NotFound("No webhook with this id"));
    }
    tracing::info!(webhook_id = %id, "webhook removed");
    Ok(())
}

/// Sends to a disabled (or failing) endpoint again, from a clean slate; the deliveries given
/// up on when it was disabled are sent again, as the receiver missed them.
pub async fn enable(state: &AppState, id: Uuid) -> Result<EnabledWebhook, Error> {
    let mut conn = state.pool.get().await?;
    let (row, requeued_deliveries) = stored::enable_endpoint(&mut conn, id, state.now())
        .await?
        .ok_or(Error::NotFound("No webhook with this id"))?;
    tracing::info!(webhook_id = %id, requeued_deliveries, "webhook enabled");
    Ok(EnabledWebhook {
        webhook: WebhookEndpoint::from(row),
        requeued_deliveries,
    })
}

/// The endpoint's latest deliveries, newest first.
pub async fn deliveries(state: &AppState, id: Uuid) -> Result<Vec<WebhookDelivery>, Error> {
    let mut conn = state.pool.get().await?;
    if stored::find_endpoint(&mut conn, id).await?.is_none() {
        return Err(Error::NotFound("No webhook with this id"));
    }
    let rows = stored::deliveries(&mut conn, id, DELIVERIES_SHOWN).await?;
    Ok(rows.into_iter().map(WebhookDelivery::from).collect())
}
