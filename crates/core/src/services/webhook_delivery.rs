//! The webhook worker: every instance runs one. Like the mail worker, it claims a delivery
//! for a while (`policy::WEBHOOK_CLAIM_LEASE`) in a short transaction, sends it outside any
//! transaction, and records the outcome; a delivery whose worker died is claimed again when
//! the claim runs out, so each is delivered at least once (receivers drop repeats by
//! `webhook-id`). Any 2xx answer is a delivery; anything else is retried with a doubling
//! delay for `policy::WEBHOOK_RETRY_PERIOD`, and an endpoint that keeps failing is disabled.
//!
//! Requests go only to public addresses unless `WEBHOOK_ALLOW_PRIVATE` says otherwise: the
//! host is resolved here, every address it resolves to is checked, and the connection is
//! made to those checked addresses (no second lookup an attacker's DNS could answer
//! differently). No redirect is followed and no proxy is used.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use diesel_async::AsyncConnection;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::config::webhooks::WebhookSettings;
use crate::error::Error;
use crate::model::policy::{
    WEBHOOK_CLAIM_LEASE, WEBHOOK_DISABLE_AFTER, WEBHOOK_DISABLE_MIN_FAILURES,
    WEBHOOK_RESPONSE_LIMIT, WEBHOOK_RETRY_PERIOD, WEBHOOK_TIMEOUT,
};
use crate::model::webhooks;
use crate::services::webhooks::literal_host;
use crate::state::AppState;
use crate::storage::webhooks::{self as stored, ClaimedRow};

/// Deliveries per pass before the worker looks at its timer and wake-ups again.
const BATCH: usize = 10;
/// The most of a refusal's body kept as the delivery's error.
const ERROR_EXCERPT: usize = 200;

/// What sends deliveries: an HTTP client that connects only to allowed addresses.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
}

impl Sender {
    pub fn new(settings: &WebhookSettings) -> Result<Self, Error> {
        let client = reqwest::Client::builder()
            .timeout(WEBHOOK_TIMEOUT)
            .connect_timeout(WEBHOOK_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(CheckedResolver {
                allow_private: settings.allow_private,
            }))
            .user_agent(concat!(
                "session-manager-webhooks/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(Error::internal)?;
        Ok(Self {
            client,
            allow_private: settings.allow_private,
        })
    }
}

/// Resolves a host and refuses it when any of its addresses may not be reached.
struct CheckedResolver {
    allow_private: bool,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow_private
                && let Some(refused) = addresses
                    .iter()
                    .find(|address| !webhooks::is_public(address.ip()))
            {
                return Err(Refused {
                    host,
                    ip: refused.ip(),
                }
                .into());
            }
            let addresses: Addrs = Box::new(addresses.into_iter());
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(addresses)
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "refused: {host} resolves to {ip}, a loopback, private or link-local address \
     (WEBHOOK_ALLOW_PRIVATE=true allows it)"
)]
struct Refused {
    host: String,
    ip: IpAddr,
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    pub delivered: usize,
    pub retrying: usize,
    pub failed: usize,
}

pub async fn run(state: &AppState, sender: &Sender) {
    let mut interval = tokio::time::interval(state.settings.webhooks.poll);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            () = state.events.webhook_queued() => {}
        }
        // A full batch means more may be due: go on until nothing is.
        loop {
            match deliver_due(state, sender).await {
                Ok(done) if done.delivered + done.retrying + done.failed >= BATCH => {}
                Ok(_) => break,
                Err(error) => {
                    tracing::warn!(error = %error.chain(), "webhook pass failed; retrying later");
                    break;
                }
            }
        }
    }
}

/// Sends the deliveries that are due, up to a batch.
pub async fn deliver_due(state: &AppState, sender: &Sender) -> Result<Delivered, Error> {
    let mut done = Delivered::default();
    while done.delivered + done.retrying + done.failed < BATCH {
        let Some(claimed) = claim_next(state).await? else {
            break;
        };
        match deliver(state, sender, &claimed).await? {
            Outcome::Delivered => done.delivered += 1,
            Outcome::Retrying => done.retrying += 1,
            Outcome::Failed => done.failed += 1,
        }
    }
    Ok(done)
}

/// Claims the next delivery due, in a transaction of its own that commits before it is sent.
async fn claim_next(state: &AppState) -> Result<Option<ClaimedRow>, Error> {
    let now = state.now();
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, Error, _>(async |conn| {
        Ok(stored::claim_next(conn, now, now + WEBHOOK_CLAIM_LEASE).await?)
    })
    .await
}

enum Outcome {
    Delivered,
    Retrying,
    Failed,
}

/// Why a try failed: the receiver's status (if it answered) and what went wrong.
struct Failure {
    status: Option<i32>,
    error: String,
}

/// Sends one claimed delivery (no transaction open) and records what came of it.
async fn deliver(state: &AppState, sender: &Sender, row: &ClaimedRow) -> Result<Outcome, Error> {
    use crate::telemetry::metrics::WEBHOOK_DELIVERIES;
    let sent = send(state, sender, row).await;
    let now = state.now();
    let mut conn = state.pool.get().await?;
    let failure = match sent {
        Ok(status) => {
            stored::mark_delivered(&mut conn, &row.id, status, now).await?;
            stored::endpoint_succeeded(&mut conn, row.endpoint_id).await?;
            metrics::counter!(WEBHOOK_DELIVERIES, "outcome" => "delivered").increment(1);
            return Ok(Outcome::Delivered);
        }
        Err(failure) => failure,
    };
    let attempts = u32::try_from(row.attempts.saturating_add(1)).unwrap_or(1);
    let delay = webhooks::retry_delay(state.settings.webhooks.retry, attempts);
    let next = now + chrono::Duration::from_std(delay).unwrap_or_default();
    // Retried until the delivery is `WEBHOOK_RETRY_PERIOD` old: the first failure after that
    // is the last.
    let give_up = now >= row.created_at + WEBHOOK_RETRY_PERIOD;
    stored::mark_failed_try(
        &mut conn,
        &row.id,
        failure.status,
        &failure.error,
        now,
        (!give_up).then_some(next),
    )
    .await?;
    let disabled = stored::endpoint_failed(
        &mut conn,
        row.endpoint_id,
        now,
        now - WEBHOOK_DISABLE_AFTER,
        WEBHOOK_DISABLE_MIN_FAILURES,
    )
    .await?;
    if disabled {
        tracing::error!(
            webhook_id = %row.endpoint_id,
            url = %row.url,
            "webhook disabled: it failed every delivery for too long"
        );
    }
    if give_up {
        tracing::error!(delivery_id = %row.id, url = %row.url, attempts, error = %failure.error,
            "webhook delivery given up on");
        metrics::counter!(WEBHOOK_DELIVERIES, "outcome" => "failed").increment(1);
        Ok(Outcome::Failed)
    } else {
        tracing::warn!(delivery_id = %row.id, url = %row.url, attempts, error = %failure.error,
            retry_at = %next, "webhook not delivered");
        metrics::counter!(WEBHOOK_DELIVERIES, "outcome" => "retry").increment(1);
        Ok(Outcome::Retrying)
    }
}

/// Signs and posts the delivery; the status of a 2xx answer.
async fn send(state: &AppState, sender: &Sender, row: &ClaimedRow) -> Result<i32, Failure> {
    let failure = |error: String| Failure {
        status: None,
        error,
    };
    // A name is checked as it resolves (`CheckedResolver`); an address is never resolved.
    if !sender.allow_private
        && let Some(ip) = literal_host(&row.url)
        && !webhooks::is_public(ip)
    {
        return Err(failure(format!(
            "refused: {ip} is a loopback, private or link-local address \
             (WEBHOOK_ALLOW_PRIVATE=true allows it)"
        )));
    }
    let key = webhooks::secret_key(&row.secret)
        .ok_or_else(|| failure("the endpoint's secret is not base64".into()))?;
    let timestamp = state.now().timestamp();
    let body = row.payload.as_bytes().to_vec();
    let signature = webhooks::sign(&key, &row.id, timestamp, &body);
    let response = sender
        .client
        .post(&row.url)
        .header("webhook-id", &row.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .map_err(|error| failure(chain(&error)))?;
    let status = response.status();
    let excerpt = read_capped(response).await;
    let code = i32::from(status.as_u16());
    if status.is_success() {
        Ok(code)
    } else {
        Err(Failure {
            status: Some(code),
            error: format!("HTTP {status}: {excerpt}"),
        })
    }
}

/// The start of the answer's body, reading no more than `WEBHOOK_RESPONSE_LIMIT` of it.
async fn read_capped(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < WEBHOOK_RESPONSE_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    String::from_utf8_lossy(&body)
        .chars()
        .filter(|c| !c.is_control())
        .take(ERROR_EXCERPT)
        .collect()
}

/// An error and its causes, on one line (reqwest says "error sending request" and keeps
/// the reason in its sources).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
