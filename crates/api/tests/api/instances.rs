//! Two (or three) instances on one database, as behind a load balancer: every flow whose
//! two ends may sit on different instances, through the PostgreSQL event bus.

use std::time::Duration;

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::json;
use shared::ws::{PendingMessage, ServerMessage};

use crate::support::*;

#[tokio::test]
async fn a_login_through_b_prompts_the_device_on_a_and_the_answer_reaches_the_waiting_device_on_b()
{
    let Pair { a, b } = spawn_two_instances().await;
    let first = a.user_with_one_session().await;
    let mut prompt_on_a = first.session_socket().await;
    let mut prompt_on_b = first.via(&b).session_socket().await;

    let waiting = b.pending_approval("ada@example.com", SAFARI_IPHONE).await;
    let mut waiting_on_b = waiting.socket_via(&b).await;
    assert!(matches!(
        next_pending_message(&mut waiting_on_b).await,
        PendingMessage::Pending { .. }
    ));
    for socket in [&mut prompt_on_a, &mut prompt_on_b] {
        let ServerMessage::ApprovalRequested { approval } = next_server_message(socket).await
        else {
            panic!("the prompt reaches both instances")
        };
        assert_eq!(approval.id.to_string(), waiting.id);
        assert_eq!(approval.browser, "Safari 17");
    }

    // A wrong code typed on A: both instances' prompts say how many tries are left.
    send_json(
        &mut prompt_on_a,
        json!({"type": "approve", "approval_id": waiting.id, "code": waiting.wrong_code()}),
    )
    .await;
    for socket in [&mut prompt_on_a, &mut prompt_on_b] {
        assert!(matches!(
            next_server_message(socket).await,
            ServerMessage::ApprovalCodeRejected { tries_left: 4, .. }
        ));
    }

    // The right code on A: the waiting device on B hears it at once.
    send_json(
        &mut prompt_on_a,
        json!({"type": "approve", "approval_id": waiting.id, "code": waiting.code}),
    )
    .await;
    assert_eq!(
        next_pending_message(&mut waiting_on_b).await,
        PendingMessage::Approved
    );
    // The new device completes through A.
    let completed = waiting
        .device
        .via(&a)
        .post(
            &format!("/api/login/approvals/{}/complete", waiting.id),
            json!({"pending_token": waiting.token}),
        )
        .await;
    assert_eq!(completed.status(), StatusCode::OK);
    assert_eq!(
        next_pending_message(&mut waiting_on_b).await,
        PendingMessage::Completed
    );
    assert_eq!(waiting.device.me().await.status(), StatusCode::OK);
    assert_eq!(b.active_sessions_in_db().await, 2);
}

#[tokio::test]
async fn denied_cancelled_and_expired_requests_reach_the_waiting_device_on_the_other_instance() {
    // No cool-down after the denial: the next requests follow at once.
    let Pair { a, b } = spawn_two_instances_with(|settings| {
        settings.approval.denial_cooldown = Duration::ZERO;
    })
    .await;
    let first = a.user_with_one_session().await;
    let mut prompt_on_a = first.session_socket().await;

    let denied = b.pending_approval("ada@example.com", FIREFOX_WINDOWS).await;
    let mut socket = denied.socket_via(&b).await;
    next_pending_message(&mut socket).await;
    next_server_message(&mut prompt_on_a).await;
    let deny = first
        .post(&format!("/api/approvals/{}/deny", denied.id), json!({}))
        .await;
    assert_eq!(deny.status(), StatusCode::OK);
    assert_eq!(
        next_pending_message(&mut socket).await,
        PendingMessage::Denied
    );
    next_server_message(&mut prompt_on_a).await;

    // Withdrawn through B: the prompt on A goes away, and the device's socket on A hears it.
    let cancelled = b.pending_approval("ada@example.com", FIREFOX_WINDOWS).await;
    let mut cancelled_on_a = cancelled.socket_via(&a).await;
    next_pending_message(&mut cancelled_on_a).await;
    next_server_message(&mut prompt_on_a).await;
    let cancel = cancelled
        .device
        .post(
            &format!("/api/login/approvals/{}/cancel", cancelled.id),
            json!({"pending_token": cancelled.token}),
        )
        .await;
    assert_eq!(cancel.status(), StatusCode::OK);
    assert!(matches!(
        next_server_message(&mut prompt_on_a).await,
        ServerMessage::ApprovalResolved { outcome, .. } if outcome == "cancelled"
    ));
    assert_eq!(
        next_pending_message(&mut cancelled_on_a).await,
        PendingMessage::Cancelled
    );

    // Expired by A's sweeper: the device waiting on B is told.
    let expired = a.pending_approval("ada@example.com", FIREFOX_WINDOWS).await;
    let mut socket = expired.socket_via(&b).await;
    next_pending_message(&mut socket).await;
    next_server_message(&mut prompt_on_a).await;
    a.clock.advance(chrono::Duration::minutes(3));
    a.sweep().await;
    assert_eq!(
        next_pending_message(&mut socket).await,
        PendingMessage::Expired
    );
    assert!(matches!(
        next_server_message(&mut prompt_on_a).await,
        ServerMessage::ApprovalResolved { outcome, .. } if outcome == "expired"
    ));
}

#[tokio::test]
async fn revoking_or_changing_the_password_on_a_closes_the_sockets_on_b() {
    let Pair { a, b } =
        spawn_two_instances_with(|settings| settings.session.max_sessions = 3).await;
    let (first, second) = a.user_with_two_sessions().await;
    let third = a
        .second_device(&first, "ada@example.com", SAFARI_IPHONE)
        .await;
    let mut second_on_b = second.via(&b).session_socket().await;
    let mut third_on_b = third.via(&b).session_socket().await;
    let mut first_on_b = first.via(&b).session_socket().await;
    quiet(&mut first_on_b).await;

    let second_id = second.session_id().await;
    let revoke = first.delete(&format!("/api/sessions/{second_id}")).await;
    assert_eq!(revoke.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        next_revocation(&mut second_on_b).await,
        ServerMessage::SessionRevoked {
            reason: "revoked".into(),
            replaced_by: None,
        }
    );
    assert_eq!(closed(&mut second_on_b).await, Some(1008));
    next_refresh(&mut first_on_b).await;

    let change = first
        .post(
            "/api/me/password",
            json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"}),
        )
        .await;
    assert_eq!(change.status(), StatusCode::OK);
    assert_eq!(
        next_revocation(&mut third_on_b).await,
        ServerMessage::SessionRevoked {
            reason: "password_changed".into(),
            replaced_by: None,
        }
    );
    assert_eq!(closed(&mut third_on_b).await, Some(1008));
}

#[tokio::test]
async fn a_logout_on_b_refreshes_the_lists_on_a() {
    let Pair { a, b } = spawn_two_instances().await;
    let (first, second) = a.user_with_two_sessions().await;
    let mut on_a = first.session_socket().await;
    quiet(&mut on_a).await;
    let logout = second.via(&b).post("/api/auth/logout", json!({})).await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    next_refresh(&mut on_a).await;
}

#[tokio::test]
async fn guesses_alternated_between_instances_are_counted_once() {
    let Pair { a, b } = spawn_two_instances().await;
    let owner = a.user_with_one_session().await;
    owner.post("/api/auth/logout", json!({})).await;
    let guesser = a.device(FIREFOX_WINDOWS);
    let guesser_on_b = guesser.via(&b);
    for attempt in 0..10 {
        let device = if attempt % 2 == 0 {
            &guesser
        } else {
            &guesser_on_b
        };
        let response = device.login("ada@example.com", "a wrong guess").await;
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    // The 11th, on either instance, is refused — even with the right password.
    for device in [&guesser, &guesser_on_b] {
        let response = device.login("ada@example.com", PASSWORD).await;
        assert_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    }
}

#[tokio::test]
async fn fifty_parallel_wrong_passwords_over_both_instances_hash_at_most_the_limit() {
    let Pair { a, b } = spawn_two_instances().await;
    let owner = a.user_with_one_session().await;
    let guessers: Vec<Device> = (0..50)
        .map(|i| {
            let app = if i % 2 == 0 { &a } else { &b };
            app.device(FIREFOX_WINDOWS)
        })
        .collect();
    let statuses: Vec<StatusCode> = join_all(
        guessers
            .iter()
            .map(|device| device.login("ada@example.com", "a wrong guess")),
    )
    .await
    .iter()
    .map(reqwest::Response::status)
    .collect();
    let count = |status| statuses.iter().filter(|s| **s == status).count();
    assert_eq!(count(StatusCode::UNAUTHORIZED), 10, "{statuses:?}");
    assert_eq!(count(StatusCode::TOO_MANY_REQUESTS), 40, "{statuses:?}");
    // Only the ten that got a slot were checked (each hashed and logged once).
    assert_eq!(owner.activity_count("login_failed").await, 10);
}

#[tokio::test]
async fn parallel_logins_over_both_instances_never_exceed_the_limit() {
    let Pair { a, b } = spawn_two_instances().await;
    let first = a.user_with_one_session().await;
    first.post("/api/auth/logout", json!({})).await;
    let devices: Vec<Device> = (0..20)
        .map(|i| {
            let app = if i % 2 == 0 { &a } else { &b };
            app.device(FIREFOX_WINDOWS)
        })
        .collect();
    let statuses: Vec<StatusCode> = join_all(
        devices
            .iter()
            .map(|device| device.login("ada@example.com", PASSWORD)),
    )
    .await
    .iter()
    .map(reqwest::Response::status)
    .collect();
    let count = |status| statuses.iter().filter(|s| **s == status).count();
    assert_eq!(count(StatusCode::OK), 1, "{statuses:?}");
    assert_eq!(count(StatusCode::ACCEPTED), 3, "{statuses:?}");
    assert_eq!(count(StatusCode::TOO_MANY_REQUESTS), 16, "{statuses:?}");
    assert_eq!(a.active_sessions_in_db().await, 1);
}

#[tokio::test]
async fn simultaneous_approvals_on_both_instances_admit_one_device() {
    let Pair { a, b } = spawn_two_instances().await;
    let first = a.user_with_one_session().await;
    let mut waiting = Vec::new();
    for agent in [FIREFOX_WINDOWS, SAFARI_IPHONE, CHROME_LINUX] {
        waiting.push(a.pending_approval("ada@example.com", agent).await);
    }
    let first_on_b = first.via(&b);
    let responses = join_all(waiting.iter().enumerate().map(|(i, request)| {
        let approver = if i % 2 == 0 { &first } else { &first_on_b };
        request.approve_from(approver)
    }))
    .await;
    let granted = responses
        .iter()
        .filter(|response| response.status() == StatusCode::OK)
        .count();
    assert_eq!(granted, 1);
    assert_eq!(a.active_sessions_in_db().await, 2);
}

#[tokio::test]
async fn when_the_listener_is_cut_sockets_resync_and_later_events_still_arrive() {
    let Pair { a, b } = spawn_two_instances().await;
    let first = a.user_with_one_session().await;
    let mut socket = first.session_socket().await;

    // Cut the listening connections, as a failover or an operator would.
    a.sql(
        "SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity \
         WHERE application_name = 'session-events-listener' AND datname = current_database()",
    )
    .await;
    // The socket is told to refresh (events may have been missed meanwhile).
    let mut resynced = false;
    for _ in 0..5 {
        if next_json::<ServerMessage>(&mut socket, Duration::from_secs(10)).await
            == ServerMessage::SessionsChanged
        {
            resynced = true;
            break;
        }
    }
    assert!(resynced, "the socket resyncs after the listener reconnects");
    a.wait_until_ready().await;
    b.wait_until_ready().await;

    // And the bus works again: a login through B prompts the socket on A.
    let waiting = b.pending_approval("ada@example.com", FIREFOX_WINDOWS).await;
    loop {
        match next_server_message(&mut socket).await {
            ServerMessage::ApprovalRequested { approval } => {
                assert_eq!(approval.id.to_string(), waiting.id);
                break;
            }
            ServerMessage::SessionsChanged => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_socket_whose_session_ended_without_an_event_closes_at_the_next_heartbeat() {
    let app = spawn_app_with(|settings| {
        settings.sockets.heartbeat = Duration::from_millis(300);
        settings.sockets.client_timeout = Duration::from_secs(30);
    })
    .await;
    let device = app.user_with_one_session().await;
    let mut socket = device.session_socket().await;
    // Ended behind the bus's back (as if its event were lost).
    app.execute("UPDATE sessions SET ended_at = now(), end_reason = 'revoked'")
        .await;
    assert_eq!(
        next_revocation(&mut socket).await,
        ServerMessage::SessionRevoked {
            reason: "revoked".into(),
            replaced_by: None,
        }
    );
    assert_eq!(closed(&mut socket).await, Some(1008));
}

#[tokio::test]
async fn three_instances_with_default_pools_keep_answering_after_a_burst() {
    let database = std::sync::Arc::new(TestDatabase::create().await);
    let mut instances = Vec::new();
    for _ in 0..3 {
        // Default pool and worker settings (the test harness otherwise sets its own).
        instances.push(
            spawn_app_on(database.clone(), |settings| {
                let defaults = api::config::Settings::for_tests(settings.database.url.expose());
                settings.database.pool_size = defaults.database.pool_size;
                settings.server.workers = defaults.server.workers;
            })
            .await,
        );
    }
    let owner = instances[0].user_with_one_session().await;
    let cookies = owner.cookie_header();
    let client = reqwest::Client::new();
    let requests = (0..300).map(|i| {
        let instance = &instances[i % 3];
        let request = client
            .get(instance.url("/api/auth/me"))
            .header("cookie", cookies.clone());
        async move { request.send().await.map(|response| response.status()) }
    });
    let statuses = join_all(requests).await;
    assert!(
        statuses
            .iter()
            .all(|status| matches!(status, Ok(status) if *status == StatusCode::OK)),
        "{statuses:?}"
    );
    for instance in &instances {
        let health = reqwest::get(instance.url("/healthz")).await.unwrap();
        assert_eq!(health.status(), StatusCode::OK);
        let me = owner.via(instance).me().await;
        assert_eq!(me.status(), StatusCode::OK);
    }
    let connections = instances[0]
        // Clients only: an autovacuum worker visiting the database is not the instances'.
        .sql(
            "SELECT count(*) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND backend_type = 'client backend'",
        )
        .await;
    let per_instance = api::storage::db::connections_per_instance(&instances[0].state.settings);
    assert!(
        connections[0]["n"].as_u64().unwrap() <= u64::try_from(3 * per_instance + 1).unwrap(),
        "{connections:?}"
    );
}

#[tokio::test]
async fn housekeeping_runs_on_one_instance_at_a_time() {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    let Pair { a, b } = spawn_two_instances().await;
    // Another instance is sweeping: it holds the sweeper's advisory lock.
    let mut other = AsyncPgConnection::establish(&a.database_url).await.unwrap();
    diesel::sql_query("SELECT pg_advisory_lock(7215002)")
        .execute(&mut other)
        .await
        .unwrap();
    let skipped = api::services::sweeper::sweep(&a.state).await.unwrap();
    assert!(!skipped.ran, "A skips while the lock is held");
    diesel::sql_query("SELECT pg_advisory_unlock(7215002)")
        .execute(&mut other)
        .await
        .unwrap();
    // Sweeps started on both at once: whichever takes the lock sweeps, the other skips or
    // comes after; nothing is ended twice.
    let device = a.user_with_one_session().await;
    let mut socket = device.via(&b).session_socket().await;
    a.clock.advance(chrono::Duration::minutes(61));
    b.clock.advance(chrono::Duration::minutes(61));
    let (on_a, on_b) = tokio::join!(
        api::services::sweeper::sweep(&a.state),
        api::services::sweeper::sweep(&b.state)
    );
    let (on_a, on_b) = (on_a.unwrap(), on_b.unwrap());
    assert!(on_a.ran || on_b.ran);
    // At most one sweep ends it (the socket's heartbeat check may have ended it first, with
    // the same reason); the log below shows it ended exactly once.
    assert!(on_a.sessions_ended + on_b.sessions_ended <= 1);
    assert_eq!(
        next_revocation(&mut socket).await,
        ServerMessage::SessionRevoked {
            reason: "idle_timeout".into(),
            replaced_by: None,
        }
    );
    let expired = a
        .sql("SELECT count(*) AS n FROM activity WHERE kind = 'session_expired'")
        .await;
    assert_eq!(expired[0]["n"], 1);
}
