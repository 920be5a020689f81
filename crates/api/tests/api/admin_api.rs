//! The admin API on its own listener (`ADMIN_BIND`), with keys from `api admin api-key`.

use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::ws::ServerMessage;

use crate::support::*;

const ADA: &str = "/admin/v1/users/ada@example.com";

fn revoked_message() -> ServerMessage {
    ServerMessage::SessionRevoked {
        reason: "revoked".into(),
        replaced_by: None,
    }
}

#[tokio::test]
async fn no_key_a_wrong_key_and_a_revoked_key_are_refused_with_401() {
    let app = spawn_app().await;
    app.user_with_one_session().await;
    let key = create_api_key(&app, "support desk", "read").await;
    assert!(key.starts_with("sm_"), "{key}");
    assert_eq!(app.admin_api(&key).get(ADA).await.status(), StatusCode::OK);

    let no_key = app.admin_api_without_key().get(ADA).await;
    assert_eq!(
        no_key.headers()["www-authenticate"],
        "Bearer realm=\"admin\""
    );
    assert_error(no_key, StatusCode::UNAUTHORIZED, "invalid_api_key").await;
    let wrong = format!("sm_{}", "A".repeat(43));
    for refused in [
        app.admin_api(&wrong).get(ADA).await,
        app.admin_api(&key[..key.len() - 1]).get(ADA).await,
        app.admin_api_without_key()
            .client
            .get(format!("{}{ADA}", app.admin_address))
            .header("Authorization", format!("Basic {key}"))
            .send()
            .await
            .unwrap(),
    ] {
        assert_error(refused, StatusCode::UNAUTHORIZED, "invalid_api_key").await;
    }

    let revoked = run_admin(&app, &["api-key", "revoke", "support desk"]).await;
    assert!(revoked.status.success());
    assert_error(
        app.admin_api(&key).get(ADA).await,
        StatusCode::UNAUTHORIZED,
        "invalid_api_key",
    )
    .await;
    // The list shows the key as used and revoked, and never the key itself.
    let listed = run_admin(&app, &["api-key", "list", "--json"]).await;
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed["keys"][0]["name"], "support desk");
    assert_eq!(listed["keys"][0]["scope"], "read");
    assert!(listed["keys"][0]["last_used_at"].is_string());
    assert!(listed["keys"][0]["revoked_at"].is_string());
    assert!(!listed.to_string().contains(&key));
    // Only the key's hash is stored.
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM api_keys WHERE key_hash = sha256('{key}'::bytea)"
        ))
        .await,
        1
    );
    let again = run_admin(&app, &["api-key", "revoke", "support desk"]).await;
    assert!(!again.status.success());
}

#[tokio::test]
async fn a_name_is_one_key_and_a_scope_is_read_or_write() {
    let app = spawn_app().await;
    create_api_key(&app, "deploy bot", "write").await;
    let taken = run_admin(
        &app,
        &["api-key", "create", "deploy bot", "--scope", "read"],
    )
    .await;
    assert!(!taken.status.success());
    assert!(String::from_utf8_lossy(&taken.stderr).contains("exists already"));
    let unknown_scope = run_admin(&app, &["api-key", "create", "x", "--scope", "admin"]).await;
    assert_eq!(unknown_scope.status.code(), Some(2));
    let table = run_admin(&app, &["api-key", "list"]).await;
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    assert!(table.starts_with("NAME"), "{table}");
    assert!(table.contains("deploy bot") && table.contains("write"));
}

#[tokio::test]
async fn a_read_key_reads_every_endpoint_and_changing_anything_is_403() {
    let app = spawn_app().await;
    let (first, second) = app.user_with_two_sessions().await;
    let second_id = second.session_id().await;
    let reader = app.admin_api(&create_api_key(&app, "auditor", "read").await);
    for path in [
        ADA.to_owned(),
        format!("{ADA}/sessions"),
        format!("{ADA}/history"),
        format!("{ADA}/activity"),
    ] {
        reader.json(&path).await;
    }
    for refused in [
        reader
            .delete(&format!("/admin/v1/sessions/{second_id}"))
            .await,
        reader.delete(&format!("{ADA}/sessions")).await,
        reader.post(&format!("{ADA}/unlock")).await,
    ] {
        assert!(
            refused.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("insufficient_scope")
        );
        assert_error(refused, StatusCode::FORBIDDEN, "insufficient_scope").await;
    }
    assert_eq!(first.me().await.status(), StatusCode::OK);
    assert_eq!(second.me().await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_user_their_sessions_and_their_paged_logs_are_shown_as_the_user_sees_them() {
    let app = spawn_app_with(|settings| settings.throttle.login_max_failures = 3).await;
    let (first, second) = app.user_with_two_sessions().await;
    let (first_id, second_id) = (first.session_id().await, second.session_id().await);
    let api = app.admin_api(&create_api_key(&app, "ops", "read").await);

    let user = api.json(ADA).await;
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["name"], "Ada");
    assert_eq!(user["email_verified_at"], Value::Null);
    assert_eq!(user["active_sessions"].as_array().unwrap().len(), 2);
    assert_eq!(user["locked"], false);
    assert_eq!(user["recent_login_failures"], 0);

    let sessions = api.json(&format!("{ADA}/sessions")).await;
    let sessions = sessions["sessions"].as_array().unwrap();
    assert_eq!(sessions[0]["id"], first_id.as_str(), "oldest first");
    assert_eq!(sessions[1]["id"], second_id.as_str());
    assert!(sessions[1]["browser"].as_str().unwrap().contains("Firefox"));
    assert!(sessions[1]["os"].as_str().unwrap().contains("Windows"));
    assert_eq!(sessions[1]["ip"], "127.0.0.1");
    assert!(sessions[1]["last_seen_at"].is_string());
    assert!(sessions[1].get("country").is_some());

    // The session log, a page at a time, as the user's own: newest first.
    let page = api.json(&format!("{ADA}/history?limit=1")).await;
    assert_eq!(page["items"][0]["id"], second_id.as_str());
    assert_eq!(page["items"][0]["current"], false);
    let cursor = page["next_cursor"].as_str().unwrap();
    let page = api
        .json(&format!("{ADA}/history?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(page["items"][0]["id"], first_id.as_str());
    assert_eq!(page["next_cursor"], Value::Null);
    let own: Value = first.get("/api/activity").await.json().await.unwrap();
    let seen = api.json(&format!("{ADA}/activity")).await;
    assert_eq!(seen["items"], own["items"]);
    let page = api.json(&format!("{ADA}/activity?limit=2")).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap();
    let next = api
        .json(&format!("{ADA}/activity?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(next["items"][0], own["items"][2]);
    assert_error(
        api.get(&format!("{ADA}/activity?limit=0")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_error(
        api.get(&format!("{ADA}/history?cursor=nonsense")).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;

    // Failed sign-ins lock the account, and the overview says so.
    let stranger = app.device(SAFARI_IPHONE);
    for _ in 0..3 {
        stranger.login("ada@example.com", "a wrong guess").await;
    }
    let user = api.json(ADA).await;
    assert_eq!(user["locked"], true);
    assert_eq!(user["recent_login_failures"], 3);

    for path in [
        "/admin/v1/users/nobody@example.com".to_owned(),
        "/admin/v1/users/nobody@example.com/sessions".to_owned(),
        "/admin/v1/users/nobody@example.com/history".to_owned(),
        "/admin/v1/users/nobody@example.com/activity".to_owned(),
    ] {
        assert_error(api.get(&path).await, StatusCode::NOT_FOUND, "not_found").await;
    }
}

#[tokio::test]
async fn a_write_key_ends_sessions_and_unlocks_and_the_log_names_the_key() {
    let app = spawn_app_with(|settings| {
        settings.session.max_sessions = 3;
        settings.throttle.login_max_failures = 3;
    })
    .await;
    let (first, second) = app.user_with_two_sessions().await;
    let second_id = second.session_id().await;
    let mut second_socket = second.session_socket().await;
    let api = app.admin_api(&create_api_key(&app, "offboarding", "write").await);

    let ended = api.delete(&format!("/admin/v1/sessions/{second_id}")).await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    assert_eq!(next_revocation(&mut second_socket).await, revoked_message());
    assert_eq!(closed(&mut second_socket).await, Some(1008));
    assert_error(
        second.me().await,
        StatusCode::UNAUTHORIZED,
        "invalid_session",
    )
    .await;
    let activity = api.json(&format!("{ADA}/activity")).await;
    assert_eq!(activity["items"][0]["kind"], "session_revoked");
    assert_eq!(
        activity["items"][0]["detail"],
        "by administrator (key offboarding)"
    );
    for unknown in [
        second_id.clone(),
        "3f0c4b2e-9d8a-4c1b-8e7f-123456789abc".to_owned(),
    ] {
        assert_error(
            api.delete(&format!("/admin/v1/sessions/{unknown}")).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    assert_error(
        api.delete("/admin/v1/sessions/not-a-uuid").await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;

    // Every session at once, and the sign-in request in flight.
    let waiting = app.pending_approval("ada@example.com", SAFARI_IPHONE).await;
    let mut first_socket = first.session_socket().await;
    let all = api.delete(&format!("{ADA}/sessions")).await;
    assert_eq!(all.status(), StatusCode::OK);
    let all: Value = all.json().await.unwrap();
    assert_eq!(all, json!({"revoked_sessions": 1, "cancelled_requests": 1}));
    let revoked = next_beyond_requests(&mut first_socket).await;
    assert_eq!(revoked, revoked_message());
    assert_error(
        first.me().await,
        StatusCode::UNAUTHORIZED,
        "invalid_session",
    )
    .await;
    assert_ne!(waiting.complete().await.status(), StatusCode::OK);
    assert_eq!(app.active_sessions_in_db().await, 0);
    let activity = api.json(&format!("{ADA}/activity")).await;
    assert!(
        activity["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|entry| entry["kind"] == "session_revoked")
            .all(|entry| entry["detail"] == "by administrator (key offboarding)")
    );

    // Unlock: the owner signs in again at once.
    let stranger = app.device(FIREFOX_WINDOWS);
    for _ in 0..3 {
        stranger.login("ada@example.com", "a wrong guess").await;
    }
    assert_error(
        stranger.login("ada@example.com", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
    )
    .await;
    let unlocked = api.post(&format!("{ADA}/unlock")).await;
    assert_eq!(unlocked.status(), StatusCode::OK);
    let unlocked: Value = unlocked.json().await.unwrap();
    assert!(unlocked["forgotten_failures"].as_u64().unwrap() >= 3);
    let activity = api.json(&format!("{ADA}/activity")).await;
    assert_eq!(activity["items"][0]["kind"], "account_unlocked");
    assert_eq!(
        activity["items"][0]["detail"],
        "by administrator (key offboarding)"
    );
    assert_eq!(
        stranger.login("ada@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );

    for (method, path) in [
        (
            reqwest::Method::DELETE,
            "/admin/v1/users/nobody@example.com/sessions",
        ),
        (
            reqwest::Method::POST,
            "/admin/v1/users/nobody@example.com/unlock",
        ),
    ] {
        assert_error(
            api.send(method, path).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
}

#[tokio::test]
async fn a_revocation_through_the_admin_api_of_one_instance_closes_the_socket_on_the_other() {
    let Pair { a, b } = spawn_two_instances().await;
    let (first, second) = a.user_with_two_sessions().await;
    let second_id = second.session_id().await;
    let mut second_on_b = second.via(&b).session_socket().await;
    let mut first_on_b = first.via(&b).session_socket().await;
    let api_on_a = a.admin_api(&create_api_key(&a, "offboarding", "write").await);

    let ended = api_on_a
        .delete(&format!("/admin/v1/sessions/{second_id}"))
        .await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    assert_eq!(next_revocation(&mut second_on_b).await, revoked_message());
    assert_eq!(closed(&mut second_on_b).await, Some(1008));

    let all = api_on_a.delete(&format!("{ADA}/sessions")).await;
    assert_eq!(all.status(), StatusCode::OK);
    assert_eq!(next_revocation(&mut first_on_b).await, revoked_message());
    assert_eq!(closed(&mut first_on_b).await, Some(1008));
}

#[tokio::test]
async fn a_revoked_key_is_refused_by_every_instance_at_once() {
    let Pair { a, b } = spawn_two_instances().await;
    a.user_with_one_session().await;
    let key = create_api_key(&a, "laptop script", "write").await;
    // Both instances know the key (any cache would be warm now).
    for app in [&a, &b] {
        assert_eq!(app.admin_api(&key).get(ADA).await.status(), StatusCode::OK);
    }
    let revoked = run_admin(&a, &["api-key", "revoke", "laptop script"]).await;
    assert!(revoked.status.success());
    for app in [&b, &a] {
        assert_error(
            app.admin_api(&key).get(ADA).await,
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
        )
        .await;
    }
}

#[tokio::test]
async fn the_admin_api_is_served_on_its_own_port_only_with_its_own_document() {
    let app = spawn_app().await;
    let device = app.user_with_one_session().await;
    // Not on the public port, with or without a key.
    let key = create_api_key(&app, "ops", "write").await;
    let on_public = device
        .client
        .get(app.url(ADA))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(on_public.status(), StatusCode::NOT_FOUND);

    let document: Value = reqwest::get(format!("{}/admin/v1/openapi.json", app.admin_address))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(
        document["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
    let paths: Vec<&String> = document["paths"].as_object().unwrap().keys().collect();
    assert!(paths.iter().all(|path| path.starts_with("/admin/v1/")));
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            assert!(responses.contains_key("401"), "{method} {path}: no 401");
            if method != "get" {
                assert!(responses.contains_key("403"), "{method} {path}: no 403");
            }
        }
    }
    let public: Value = reqwest::get(app.url("/api/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        public["paths"]
            .as_object()
            .unwrap()
            .keys()
            .all(|path| !path.starts_with("/admin"))
    );
    // Unknown paths and methods answer with the envelope.
    let api = app.admin_api(&key);
    assert_error(
        api.get("/admin/v1/nothing").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let wrong_method = api.send(reqwest::Method::PUT, ADA).await;
    assert_eq!(wrong_method.headers()["allow"], "GET");
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
}
