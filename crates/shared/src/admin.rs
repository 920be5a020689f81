//! Response bodies of the admin API (`/admin/v1/…`, on `ADMIN_BIND`, for API keys).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::WebhookEventType;
use crate::api::{PendingApproval, SessionInfo};

/// A user as an administrator sees it: the account, its confirmation, its active sessions
/// and sign-in requests, and whether failed sign-ins lock it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserOverview {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    #[serde(with = "crate::timestamps")]
    pub created_at: DateTime<Utc>,
    /// When the address was confirmed through the link mailed to it; `null`: not yet.
    #[serde(with = "crate::timestamps::option", default)]
    pub email_verified_at: Option<DateTime<Utc>>,
    /// Oldest first.
    pub active_sessions: Vec<SessionInfo>,
    pub pending_approvals: Vec<PendingApproval>,
    /// Failed sign-ins counted against the account in the current window.
    pub recent_login_failures: i64,
    /// Whether those failures lock the account now (`LOGIN_MAX_FAILURES`; `unlock` lifts it).
    pub locked: bool,
}

/// What ending every session of a user ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokedAll {
    pub revoked_sessions: usize,
    /// Sign-in requests in flight, cancelled (they would bring a device back in).
    pub cancelled_requests: usize,
}

/// What unlocking an account forgot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Unlocked {
    pub forgotten_failures: usize,
}

/// A webhook endpoint to add: where to send, and which events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewWebhook {
    /// `http` or `https`, with a host and no credentials. A loopback, private or link-local
    /// address is refused unless `WEBHOOK_ALLOW_PRIVATE=true`.
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 2048, example = "https://hooks.example.com/sessions")
    )]
    pub url: String,
    /// At least one; each event at most once.
    #[cfg_attr(feature = "openapi", schema(schema_with = known_events))]
    pub events: Vec<WebhookEventType>,
}

/// The events a request may name: the known ones (`unknown` is only what an older client
/// reads).
#[cfg(feature = "openapi")]
fn known_events() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
    let names = WebhookEventType::KNOWN.iter().map(|event| event.as_str());
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::String))
                .enum_values(Some(names)),
        )
        .min_items(Some(1))
        .build()
}

/// A new endpoint, with the secret that signs what it is sent (shown this once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedWebhook {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<WebhookEventType>,
    /// `whsec_<base64>`: the receiver verifies signatures with it (Standard Webhooks).
    pub secret: String,
}

/// Where an endpoint stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WebhookState {
    Enabled,
    /// Its last tries failed; it is still sent to.
    Failing,
    /// It failed for too long: nothing is sent to it until it is enabled again.
    Disabled,
}

/// An endpoint as an administrator sees it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookEndpoint {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<WebhookEventType>,
    pub state: WebhookState,
    #[serde(with = "crate::timestamps")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::timestamps::option", default)]
    pub disabled_at: Option<DateTime<Utc>>,
    /// The first failure since its last success.
    #[serde(with = "crate::timestamps::option", default)]
    pub failing_since: Option<DateTime<Utc>>,
    pub consecutive_failures: i32,
}

/// Every endpoint, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookList {
    pub webhooks: Vec<WebhookEndpoint>,
}

/// An endpoint enabled again, and how many deliveries given up on when it was disabled are
/// sent again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnabledWebhook {
    pub webhook: WebhookEndpoint,
    pub requeued_deliveries: usize,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its first try or a retry (`next_attempt_at`).
    Pending,
    Delivered,
    /// Given up on (retried for 24 hours, or the endpoint was disabled).
    Failed,
}

/// One event sent (or to be sent) to one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookDelivery {
    /// The `webhook-id` it is sent with (the same on every try).
    pub id: String,
    pub event_type: WebhookEventType,
    pub state: DeliveryState,
    #[serde(with = "crate::timestamps")]
    pub created_at: DateTime<Utc>,
    pub attempts: i32,
    #[serde(with = "crate::timestamps::option", default)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[serde(with = "crate::timestamps::option", default)]
    pub delivered_at: Option<DateTime<Utc>>,
    #[serde(with = "crate::timestamps::option", default)]
    pub failed_at: Option<DateTime<Utc>>,
    /// The HTTP status of the last try, if it got an answer.
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
}

/// An endpoint's latest deliveries, newest first (at most 100).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryList {
    pub deliveries: Vec<WebhookDelivery>,
}
