//! Signed webhooks, to a receiver the tests start (`support::receiver`): every delivery's
//! signature checks out with the algorithm README documents, nothing is lost while the
//! receiver is down and nothing arrives twice, a refusal is retried and an endpoint that
//! keeps failing is disabled, and private addresses are refused unless allowed.

use std::collections::HashMap;

use api::model::webhooks::parse_events;
use api::services::webhooks::{self, DeliveryState, WebhookState};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::StatusCode;
use serde_json::json;
use sha2::Sha256;
use shared::{EndReason, WebhookEventType, WebhookPayload};

use crate::support::*;

const ALL_EVENTS: &str = "session.created,session.ended,approval.requested,approval.decided,\
                          login.refused,alert.raised,password.changed,account.secured";

/// Verifies a delivery as README tells receivers to: the base64 HMAC-SHA256, keyed with the
/// secret's base64-decoded bytes (after `whsec_`), of `{webhook-id}.{webhook-timestamp}.{body}`,
/// compared with each `v1,` signature of the header.
fn signature_is_valid(secret: &str, received: &WebhookRequest) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", received.id, received.timestamp, received.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    received
        .signature
        .split(' ')
        .any(|signature| signature == expected)
}

fn payload(received: &WebhookRequest) -> WebhookPayload {
    serde_json::from_str(&received.body).unwrap()
}

async fn add(app: &TestApp, url: &str, events: &str) -> webhooks::CreatedWebhook {
    webhooks::add(&app.state, url, parse_events(events).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn every_delivery_is_signed_per_standard_webhooks_and_says_what_happened_to_whom() {
    let receiver = Receiver::start().await;
    let app = spawn_app().await;
    let hook = add(&app, &receiver.url(), "session.created,session.ended").await;
    assert!(hook.secret.starts_with("whsec_"));

    let device = app.user_with_one_session().await;
    let session_id = device.session_id().await;
    assert!(
        device
            .post("/api/auth/logout", json!({}))
            .await
            .status()
            .is_success()
    );
    app.deliver_webhooks().await;

    let received = receiver.received();
    assert_eq!(received.len(), 2, "{received:?}");
    for delivery in &received {
        assert!(delivery.id.starts_with("msg_"));
        assert!(signature_is_valid(&hook.secret, delivery), "{delivery:?}");
        assert_eq!(delivery.content_type, "application/json");
    }
    let mut tampered = received[0].clone();
    tampered.body = tampered.body.replace("ada@", "eve@");
    assert!(!signature_is_valid(&hook.secret, &tampered));

    let by_type: HashMap<WebhookEventType, WebhookPayload> = received
        .iter()
        .map(payload)
        .map(|payload| (payload.event_type, payload))
        .collect();
    let created = &by_type[&WebhookEventType::SessionCreated];
    assert_eq!(created.data.email.as_deref(), Some("ada@example.com"));
    assert_eq!(
        created.data.session_id.map(|id| id.to_string()),
        Some(session_id.clone())
    );
    let device_label = created.data.device.clone().unwrap_or_default();
    assert!(
        device_label.starts_with("Chrome 120 on Linux"),
        "{device_label}"
    );
    assert_eq!(created.data.ip.as_deref(), Some("127.0.0.1"));
    let ended = &by_type[&WebhookEventType::SessionEnded];
    assert_eq!(ended.data.reason, Some(EndReason::Logout));
    assert_eq!(
        ended.data.session_id.map(|id| id.to_string()),
        Some(session_id)
    );

    let deliveries = webhooks::deliveries(&app.state, hook.id).await.unwrap();
    assert_eq!(deliveries.len(), 2);
    assert!(
        deliveries
            .iter()
            .all(|delivery| delivery.state == DeliveryState::Delivered
                && delivery.attempts == 1
                && delivery.last_status == Some(200))
    );
}

#[tokio::test]
async fn an_endpoint_hears_only_the_events_it_subscribed_to_and_approvals_and_password_changes_are_told()
 {
    let receiver = Receiver::start().await;
    let app = spawn_app().await;
    let hook = add(
        &app,
        &receiver.url(),
        "approval.requested,approval.decided,password.changed,alert.raised",
    )
    .await;
    let (first, _second) = app.user_with_two_sessions().await;
    let changed = first
        .post(
            "/api/me/password",
            json!({"current_password": PASSWORD, "new_password": "new password 1"}),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    app.deliver_webhooks().await;

    let received = receiver.received();
    assert!(
        received
            .iter()
            .all(|delivery| signature_is_valid(&hook.secret, delivery))
    );
    let payloads: Vec<WebhookPayload> = received.iter().map(payload).collect();
    let types: Vec<WebhookEventType> = payloads.iter().map(|p| p.event_type).collect();
    assert!(
        !types.contains(&WebhookEventType::SessionCreated),
        "{types:?}"
    );
    let requested = payloads
        .iter()
        .find(|p| p.event_type == WebhookEventType::ApprovalRequested)
        .expect("approval.requested");
    let device_label = requested.data.device.clone().unwrap_or_default();
    assert!(
        device_label.starts_with("Firefox 121 on Windows"),
        "{device_label}"
    );
    let decided = payloads
        .iter()
        .find(|p| p.event_type == WebhookEventType::ApprovalDecided)
        .expect("approval.decided");
    assert_eq!(decided.data.outcome, Some(shared::ApprovalStatus::Approved));
    assert_eq!(decided.data.approval_id, requested.data.approval_id);
    let alert = payloads
        .iter()
        .find(|p| p.event_type == WebhookEventType::AlertRaised)
        .expect("alert.raised for the new device");
    assert_eq!(alert.data.alert, Some(shared::AlertKind::NewDevice));
    let password = payloads
        .iter()
        .find(|p| p.event_type == WebhookEventType::PasswordChanged)
        .expect("password.changed");
    assert_eq!(password.data.email.as_deref(), Some("ada@example.com"));
    let device_label = password.data.device.clone().unwrap_or_default();
    assert!(
        device_label.starts_with("Chrome 120 on Linux"),
        "{device_label}"
    );
}

#[tokio::test]
async fn events_while_the_receiver_is_down_all_arrive_once_each_when_it_comes_back() {
    let mut receiver = Receiver::start().await;
    let app = spawn_app().await;
    let hook = add(&app, &receiver.url(), ALL_EVENTS).await;
    receiver.stop().await;

    let (first, second) = app.user_with_two_sessions().await;
    let second_id = second.session_id().await;
    let revoked = first.delete(&format!("/api/sessions/{second_id}")).await;
    assert!(revoked.status().is_success(), "{}", revoked.status());
    app.deliver_webhooks().await;
    let queued = app
        .count("SELECT count(*) AS n FROM webhook_deliveries")
        .await;
    assert!(queued >= 6, "{queued} deliveries");
    assert_eq!(
        app.count("SELECT count(*) AS n FROM webhook_deliveries WHERE delivered_at IS NOT NULL")
            .await,
        0
    );
    let listed = webhooks::list(&app.state).await.unwrap();
    assert_eq!(listed[0].state, WebhookState::Failing);

    receiver.restart().await;
    app.clock.advance(chrono::Duration::seconds(60));
    app.deliver_webhooks().await;
    // Once more, later: nothing delivered arrives again.
    app.clock.advance(chrono::Duration::seconds(3600));
    app.deliver_webhooks().await;

    let received = receiver.received();
    let mut ids: Vec<&str> = received.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), received.len(), "each webhook-id arrives once");
    assert_eq!(i64::try_from(received.len()).unwrap(), queued);
    assert!(
        received
            .iter()
            .all(|delivery| signature_is_valid(&hook.secret, delivery))
    );
    let ended = received
        .iter()
        .map(payload)
        .find(|p| p.event_type == WebhookEventType::SessionEnded)
        .expect("session.ended");
    assert_eq!(ended.data.reason, Some(EndReason::Revoked));
    let listed = webhooks::list(&app.state).await.unwrap();
    assert_eq!(listed[0].state, WebhookState::Enabled);
}

#[tokio::test]
async fn a_receiver_answering_500_gets_retries_with_a_doubling_delay_until_it_takes_the_event() {
    let receiver = Receiver::start().await;
    receiver.answer_with(500);
    let app = spawn_app().await;
    let hook = add(&app, &receiver.url(), "session.created").await;
    app.user_with_one_session().await;
    app.deliver_webhooks().await;
    assert_eq!(receiver.received().len(), 1);

    // The first retry waits WEBHOOK_RETRY_SECS (30 s), the next twice as long.
    app.clock.advance(chrono::Duration::seconds(31));
    app.deliver_webhooks().await;
    assert_eq!(receiver.received().len(), 2);
    app.clock.advance(chrono::Duration::seconds(31));
    app.deliver_webhooks().await;
    assert_eq!(receiver.received().len(), 2, "the second retry waits 60 s");

    receiver.answer_with(204);
    app.clock.advance(chrono::Duration::seconds(30));
    app.deliver_webhooks().await;
    let received = receiver.received();
    assert_eq!(received.len(), 3);
    assert!(
        received.iter().all(|r| r.id == received[0].id),
        "one webhook-id"
    );
    let deliveries = webhooks::deliveries(&app.state, hook.id).await.unwrap();
    assert_eq!(deliveries[0].state, DeliveryState::Delivered);
    assert_eq!(deliveries[0].attempts, 3);
    assert_eq!(deliveries[0].last_status, Some(204));
}

#[tokio::test]
async fn an_endpoint_failing_for_a_day_is_given_up_on_disabled_and_sent_nothing_more() {
    let receiver = Receiver::start().await;
    receiver.answer_with(503);
    let app = spawn_app().await;
    let hook = add(&app, &receiver.url(), "session.created,session.ended").await;
    let device = app.user_with_one_session().await;
    app.deliver_webhooks().await;
    for _ in 0..25 {
        app.clock.advance(chrono::Duration::seconds(3600));
        app.deliver_webhooks().await;
    }
    let deliveries = webhooks::deliveries(&app.state, hook.id).await.unwrap();
    assert_eq!(deliveries[0].state, DeliveryState::Failed);
    assert!(deliveries[0].attempts >= 10, "{}", deliveries[0].attempts);
    assert_eq!(deliveries[0].last_status, Some(503));
    let listed = webhooks::list(&app.state).await.unwrap();
    assert_eq!(listed[0].state, WebhookState::Disabled);

    let tries = receiver.received().len();
    device.post("/api/auth/logout", json!({})).await;
    app.deliver_webhooks().await;
    assert_eq!(receiver.received().len(), tries);
    assert_eq!(
        webhooks::deliveries(&app.state, hook.id)
            .await
            .unwrap()
            .len(),
        1,
        "nothing is queued for a disabled endpoint"
    );
}

#[tokio::test]
async fn a_private_target_is_refused_by_default() {
    let receiver = Receiver::start().await;
    let app = spawn_app_with(|settings| settings.webhooks.allow_private = false).await;
    let refused = webhooks::add(
        &app.state,
        &receiver.url(),
        vec![WebhookEventType::SessionCreated],
    )
    .await;
    assert!(
        matches!(&refused, Err(api::error::Error::Validation(reason)) if reason.contains("127.0.0.1")),
        "{refused:?}"
    );
    // A name is checked when it resolves, at every delivery.
    let hook = add(&app, &receiver.url_by_name(), "session.created").await;
    app.user_with_one_session().await;
    app.deliver_webhooks().await;

    assert!(receiver.received().is_empty());
    let deliveries = webhooks::deliveries(&app.state, hook.id).await.unwrap();
    assert_eq!(deliveries[0].state, DeliveryState::Pending);
    let error = deliveries[0].last_error.clone().unwrap_or_default();
    assert!(error.contains("refused"), "{error}");
}

#[tokio::test]
async fn unknown_events_and_urls_without_a_scheme_are_refused_and_a_removed_endpoint_hears_nothing()
{
    let receiver = Receiver::start().await;
    let app = spawn_app().await;
    assert!(parse_events("session.exploded").is_err());
    for events in [vec![], vec![WebhookEventType::Unknown]] {
        assert!(
            webhooks::add(&app.state, &receiver.url(), events)
                .await
                .is_err()
        );
    }
    assert!(
        webhooks::add(
            &app.state,
            "ftp://hooks.example",
            vec![WebhookEventType::SessionCreated]
        )
        .await
        .is_err()
    );
    let hook = add(&app, &receiver.url(), "session.created").await;
    webhooks::remove(&app.state, hook.id).await.unwrap();
    assert!(webhooks::remove(&app.state, hook.id).await.is_err());
    app.user_with_one_session().await;
    app.deliver_webhooks().await;
    assert!(receiver.received().is_empty());
    assert!(webhooks::list(&app.state).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_admin_api_manages_endpoints_and_a_re_enabled_endpoint_gets_what_it_missed() {
    let receiver = Receiver::start().await;
    receiver.answer_with(503);
    let app = spawn_app().await;
    let api = app.admin_api(&create_api_key(&app, "hooks", "write").await);
    let reader = app.admin_api(&create_api_key(&app, "looker", "read").await);
    let new_hook = json!({"url": receiver.url(), "events": ["session.created", "session.ended"]});

    assert_error(
        reader.post_json("/admin/v1/webhooks", &new_hook).await,
        StatusCode::FORBIDDEN,
        "insufficient_scope",
    )
    .await;
    for refused in [
        json!({"url": receiver.url(), "events": []}),
        json!({"url": receiver.url(), "events": ["session.exploded"]}),
        json!({"url": "ftp://hooks.example", "events": ["session.created"]}),
    ] {
        assert_error(
            api.post_json("/admin/v1/webhooks", &refused).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
        )
        .await;
    }
    assert_error(
        api.post_json("/admin/v1/webhooks", &json!({"url": 7}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;

    let created = api.post_json("/admin/v1/webhooks", &new_hook).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: serde_json::Value = created.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let listed = reader.json("/admin/v1/webhooks").await;
    assert_eq!(listed["webhooks"][0]["id"], id.as_str());
    assert_eq!(listed["webhooks"][0]["state"], "enabled");
    assert!(listed["webhooks"][0].get("secret").is_none());

    // The receiver refuses everything for a day: the endpoint is disabled.
    app.user_with_one_session().await;
    app.deliver_webhooks().await;
    for _ in 0..25 {
        app.clock.advance(chrono::Duration::seconds(3600));
        app.deliver_webhooks().await;
    }
    let listed = reader.json("/admin/v1/webhooks").await;
    assert_eq!(listed["webhooks"][0]["state"], "disabled");
    let deliveries = reader
        .json(&format!("/admin/v1/webhooks/{id}/deliveries"))
        .await;
    assert_eq!(deliveries["deliveries"][0]["state"], "failed");
    assert_eq!(deliveries["deliveries"][0]["event_type"], "session.created");

    // Mended and enabled again: what it missed arrives, signed.
    receiver.answer_with(204);
    let tries_before = receiver.received().len();
    let enabled = api.post(&format!("/admin/v1/webhooks/{id}/enable")).await;
    assert_eq!(enabled.status(), StatusCode::OK);
    let enabled: serde_json::Value = enabled.json().await.unwrap();
    assert_eq!(enabled["requeued_deliveries"], 1);
    assert_eq!(enabled["webhook"]["state"], "enabled");
    assert_eq!(enabled["webhook"]["consecutive_failures"], 0);
    app.deliver_webhooks().await;
    let received = receiver.received();
    let missed = received
        .get(tries_before)
        .expect("the missed event is sent again");
    assert!(signature_is_valid(&secret, missed));
    assert_eq!(payload(missed).event_type, WebhookEventType::SessionCreated);
    let deliveries = reader
        .json(&format!("/admin/v1/webhooks/{id}/deliveries"))
        .await;
    assert_eq!(deliveries["deliveries"][0]["state"], "delivered");

    assert_error(
        reader.delete(&format!("/admin/v1/webhooks/{id}")).await,
        StatusCode::FORBIDDEN,
        "insufficient_scope",
    )
    .await;
    assert_eq!(
        api.delete(&format!("/admin/v1/webhooks/{id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    for (method, path) in [
        (reqwest::Method::DELETE, format!("/admin/v1/webhooks/{id}")),
        (
            reqwest::Method::POST,
            format!("/admin/v1/webhooks/{id}/enable"),
        ),
        (
            reqwest::Method::GET,
            format!("/admin/v1/webhooks/{id}/deliveries"),
        ),
    ] {
        assert_error(
            api.send(method, &path).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    assert_eq!(
        reader.json("/admin/v1/webhooks").await["webhooks"],
        json!([])
    );
}

#[tokio::test]
async fn the_webhook_commands_add_list_enable_show_deliveries_and_remove() {
    let app = spawn_app().await;
    let added = json_of(
        &run_admin(
            &app,
            &[
                "webhook",
                "add",
                "https://hooks.example.com/sessions",
                "--events",
                "session.created, session.ended",
                "--json",
            ],
        )
        .await,
    );
    let id = added["id"].as_str().unwrap().to_owned();
    assert!(added["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(added["events"], json!(["session.created", "session.ended"]));

    let listed = json_of(&run_admin(&app, &["webhook", "list", "--json"]).await);
    assert_eq!(
        listed["webhooks"][0]["url"],
        "https://hooks.example.com/sessions"
    );
    assert_eq!(listed["webhooks"][0]["state"], "enabled");
    let enabled = json_of(&run_admin(&app, &["webhook", "enable", &id, "--json"]).await);
    assert_eq!(enabled["requeued_deliveries"], 0);
    let deliveries = json_of(&run_admin(&app, &["webhook", "deliveries", &id, "--json"]).await);
    assert_eq!(deliveries["deliveries"], json!([]));
    let removed = json_of(&run_admin(&app, &["webhook", "remove", &id, "--json"]).await);
    assert_eq!(removed["removed"], id.as_str());

    for args in [
        vec!["webhook", "enable", id.as_str()],
        vec![
            "webhook",
            "add",
            "https://hooks.example.com/x",
            "--events",
            "session.exploded",
        ],
        vec![
            "webhook",
            "add",
            "http://10.0.0.7/hook",
            "--events",
            "session.created",
        ],
    ] {
        let output = run_admin(&app, &args).await;
        assert!(!output.status.success(), "{args:?} should fail");
        assert!(!stderr(&output).is_empty());
    }
}
