//! The second-device approval flow through HTTP and both sockets.

use std::time::Duration;

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::ws::{PendingMessage, ServerMessage};

use crate::support::*;

#[tokio::test]
async fn the_old_device_is_prompted_types_the_code_and_the_new_device_gets_in() {
    let app = spawn_app().await;
    let first = app.user_with_one_session().await;
    let mut prompt = first.session_socket().await;

    let waiting = app.pending_approval("ada@example.com", SAFARI_IPHONE).await;
    let mut wait_socket = waiting.socket().await;
    assert!(matches!(
        next_pending_message(&mut wait_socket).await,
        PendingMessage::Pending { .. }
    ));

    // The logged-in device sees who asks.
    let ServerMessage::ApprovalRequested { approval } = next_server_message(&mut prompt).await
    else {
        panic!("expected a prompt")
    };
    assert_eq!(approval.id.to_string(), waiting.id);
    assert_eq!(approval.device, "Phone");
    assert_eq!(approval.browser, "Safari 17");
    assert_eq!(approval.ip, "127.0.0.1");
    assert_eq!(approval.tries_left, 5);

    // The code is typed on the old device, over its socket.
    send_json(
        &mut prompt,
        json!({"type": "approve", "approval_id": waiting.id, "code": waiting.code}),
    )
    .await;
    assert_eq!(
        next_pending_message(&mut wait_socket).await,
        PendingMessage::Approved
    );
    assert_eq!(
        next_server_message(&mut prompt).await,
        ServerMessage::ApprovalResolved {
            approval_id: approval.id,
            outcome: "approved".into()
        }
    );

    // The new device trades its pending token for a cookie that works.
    let completed = waiting.complete().await;
    assert_eq!(completed.status(), StatusCode::OK);
    assert!(completed.headers().get("set-cookie").is_some());
    assert_eq!(
        next_pending_message(&mut wait_socket).await,
        PendingMessage::Completed
    );
    let me: Value = waiting.device.me().await.json().await.unwrap();
    assert_eq!(me["user"]["email"], "ada@example.com");
    assert_eq!(me["session"]["browser"], "Safari 17");
    assert_eq!(app.active_sessions_in_db().await, 2);

    // The pending token works once.
    let again = waiting.complete().await;
    assert_error(again, StatusCode::GONE, "approval_used").await;

    let activity: Value = first
        .get("/api/activity?limit=4")
        .await
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = activity["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["kind"].as_str().unwrap())
        .collect();
    // (An iPhone is a device this account had not signed in from: noted too.)
    assert_eq!(
        kinds,
        vec![
            "new_device_login",
            "login",
            "approval_granted",
            "approval_requested"
        ]
    );
}

#[tokio::test]
async fn approving_over_http_works_too_and_completion_before_approval_is_refused() {
    let app = spawn_app().await;
    let first = app.user_with_one_session().await;
    let waiting = app
        .pending_approval("ada@example.com", FIREFOX_WINDOWS)
        .await;
    assert_error(
        waiting.complete().await,
        StatusCode::CONFLICT,
        "approval_pending",
    )
    .await;

    let pending: Value = first.get("/api/approvals").await.json().await.unwrap();
    assert_eq!(pending["approvals"][0]["id"], waiting.id);
    assert_eq!(pending["approvals"][0]["browser"], "Firefox 121");

    let bad_format = first
        .post(
            &format!("/api/approvals/{}/approve", waiting.id),
            json!({"code": "12ab"}),
        )
        .await;
    assert_error(bad_format, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    let approved = waiting.approve_from(&first).await;
    assert_eq!(approved.status(), StatusCode::OK);
    assert_eq!(
        approved.json::<Value>().await.unwrap(),
        json!({"approval_id": waiting.id, "outcome": "approved"})
    );
    assert_eq!(waiting.complete().await.status(), StatusCode::OK);
    assert_eq!(waiting.device.me().await.status(), StatusCode::OK);
    // Nothing is pending any more.
    let pending: Value = first.get("/api/approvals").await.json().await.unwrap();
    assert_eq!(pending["approvals"], json!([]));
}

#[tokio::test]
async fn a_wrong_code_says_how_many_tries_are_left_and_five_lock_the_request() {
    let app = spawn_app().await;
    let first = app.user_with_one_session().await;
    let mut prompt = first.session_socket().await;
    let waiting = app
        .pending_approval("ada@example.com", FIREFOX_WINDOWS)
        .await;
    let mut wait_socket = waiting.socket().await;
    next_pending_message(&mut wait_socket).await;
    next_server_message(&mut prompt).await; // the prompt

    for tries_left in (1..=4).rev() {
        send_json(
            &mut prompt,
            json!({"type": "approve", "approval_id": waiting.id, "code": waiting.wrong_code()}),
        )
        .await;
        let ServerMessage::ApprovalCodeRejected {
            tries_left: told, ..
        } = next_server_message(&mut prompt).await
        else {
            panic!("expected a rejection")
        };
        assert_eq!(told, tries_left);
    }
    // Over HTTP the same rule holds; the fifth wrong code locks it.
    let fifth = first
        .post(
            &format!("/api/approvals/{}/approve", waiting.id),
            json!({"code": waiting.wrong_code()}),
        )
        .await;
    assert_error(fifth, StatusCode::GONE, "approval_locked").await;
    assert_eq!(
        next_pending_message(&mut wait_socket).await,
        PendingMessage::Locked
    );
    closed(&mut wait_socket).await;
    assert!(
        matches!(next_server_message(&mut prompt).await, ServerMessage::ApprovalResolved { outcome, .. } if outcome == "locked")
    );

    // Even the right code is now useless.
    let right = waiting.approve_from(&first).await;
    assert_error(right, StatusCode::GONE, "approval_locked").await;
    assert_error(
        waiting.complete().await,
        StatusCode::GONE,
        "approval_locked",
    )
    .await;
    assert_eq!(app.active_sessions_in_db().await, 1);
}

#[tokio::test]
async fn a_denied_request_tells_the_new_device_and_cannot_be_completed() {
    let app = spawn_app().await;
    let first = app.user_with_one_session().await;
    let waiting = app
        .pending_approval("ada@example.com", FIREFOX_WINDOWS)
        .await;
    let mut wait_socket = waiting.socket().await;
    next_pending_message(&mut wait_socket).await;
    let denied = first
        .post(&format!("/api/approvals/{}/deny", waiting.id), json!({}))
        .await;
    assert_eq!(denied.status(), StatusCode::OK);
    assert_eq!(
        next_pending_message(&mut wait_socket).await,
        PendingMessage::Denied
    );
    assert_error(
        waiting.complete().await,
        StatusCode::GONE,
        "approval_denied",
    )
    .await;
    let activity: Value = first
        .get("/api/activity?limit=1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(activity["items"][0]["kind"], "approval_denied");
}

#[tokio::test]
async fn an_unanswered_request_expires_and_both_sides_are_told() {
    // Long enough for the prompt to reach the socket on a loaded machine before it expires.
    let app = spawn_app_with(|settings| settings.approval.ttl = Duration::from_secs(3)).await;
    let first = app.user_with_one_session().await;
    let mut prompt = first.session_socket().await;
    let waiting = app
        .pending_approval("ada@example.com", FIREFOX_WINDOWS)
        .await;
    let mut wait_socket = waiting.socket().await;
    next_pending_message(&mut wait_socket).await;
    next_server_message(&mut prompt).await;

    assert_eq!(
        next_pending_message(&mut wait_socket).await,
        PendingMessage::Expired
    );
    assert!(
        matches!(next_server_message(&mut prompt).await, ServerMessage::ApprovalResolved { outcome, .. } if outcome == "expired")
    );
    let late = waiting.approve_from(&first).await;
    assert_error(late, StatusCode::GONE, "approval_expired").await;
    assert_error(
        waiting.complete().await,
        StatusCode::GONE,
        "approval_expired",
    )
    .await;
    // A socket opened after the end (here at the /api/ws/approvals alias the app uses)
    // hears the outcome at once.
    let alias = format!(
        "ws://127.0.0.1:{}/api/ws/approvals/{}?token={}",
        app.port, waiting.id, waiting.token
    );
    let mut late_socket = connect(&alias, &[]).await.expect("the alias opens");
    assert_eq!(
        next_pending_message(&mut late_socket).await,
        PendingMessage::Expired
    );
}

#[tokio::test]
async fn a_session_that_connects_late_still_gets_the_prompt() {
    let app = spawn_app().await;
    let first = app.user_with_one_session().await;
    let waiting = app
        .pending_approval("ada@example.com", FIREFOX_WINDOWS)
        .await;
    let mut prompt = first.session_socket().await;
    let ServerMessage::ApprovalRequested { approval } = next_server_message(&mut prompt).await
    else {
        panic!("expected the pending prompt on connect")
    };
    assert_eq!(approval.id.to_string(), waiting.id);
}

#[tokio::test]
async fn every_connected_session_is_prompted_at_once() {
    let app = spawn_app_with(|settings| settings.session.max_sessions = 3).await;
    let first = app.user_with_one_session().await;
    let second = app
        .second_device(&first, "ada@example.com", SAFARI_IPHONE)
        .await;
    let mut sockets = vec![
        first.session_socket().await,
        first.session_socket().await,
        second.session_socket().await,
    ];
    let waiting = app
        .pending_approval("ada@example.com", FIREFOX_WINDOWS)
        .await;
    // The second device's own admission is announced (resolved, sessions changed) through
    // LISTEN/NOTIFY: it may reach sockets opened after it, before the prompt.
    for socket in &mut sockets {
        let ServerMessage::ApprovalRequested { approval } = next_matching(socket, |message| {
            matches!(message, ServerMessage::ApprovalRequested { .. })
        })
        .await
        else {
            panic!("every socket is prompted")
        };
        assert_eq!(approval.id.to_string(), waiting.id);
    }
}

#[tokio::test]
async fn approvals_granted_at_the_same_time_never_exceed_the_limit() {
    let app = spawn_app().await;
    let first = app.user_with_one_session().await;
    let mut waiting = Vec::new();
    for agent in [FIREFOX_WINDOWS, SAFARI_IPHONE, CHROME_LINUX] {
        waiting.push(app.pending_approval("ada@example.com", agent).await);
    }
    let responses = join_all(waiting.iter().map(|request| {
        let path = format!("/api/approvals/{}/approve", request.id);
        let first = &first;
        async move { first.post(&path, json!({"code": request.code})).await }
    }))
    .await;
    let mut granted = 0;
    for response in responses {
        if response.status() == StatusCode::OK {
            granted += 1;
        } else {
            let body = assert_error(response, StatusCode::CONFLICT, "session_limit").await;
            assert_eq!(body["error"], "Already 2 sessions active");
        }
    }
    assert_eq!(granted, 1);
    assert_eq!(app.active_sessions_in_db().await, 2);
    let completions = join_all(waiting.iter().map(Waiting::complete)).await;
    assert_eq!(
        completions
            .iter()
            .filter(|response| response.status() == StatusCode::OK)
            .count(),
        1
    );
}

/// Approving on the signed-in device while the new device withdraws or completes: both
/// take the user's row lock first, so neither waits on the other in a cycle (a deadlock
/// PostgreSQL breaks by aborting one, which was a 500).
#[tokio::test]
async fn approving_while_the_new_device_cancels_or_completes_never_fails_with_a_server_error() {
    let app = spawn_app_with(|settings| settings.approval.max_requests_per_hour = 1000).await;
    let first = app.user_with_one_session().await;
    for round in 0..30 {
        let waiting = app
            .pending_approval("ada@example.com", FIREFOX_WINDOWS)
            .await;
        let cancel_path = format!("/api/login/approvals/{}/cancel", waiting.id);
        let cancel = || {
            waiting
                .device
                .post(&cancel_path, json!({"pending_token": waiting.token}))
        };
        let (approved, answered) = if round % 2 == 0 {
            tokio::join!(waiting.approve_from(&first), cancel())
        } else {
            tokio::join!(waiting.approve_from(&first), waiting.complete())
        };
        let (approved, answered) = (approved.status(), answered.status());
        assert!(
            !approved.is_server_error() && !answered.is_server_error(),
            "round {round}: approve {approved}, {} {answered}",
            if round % 2 == 0 { "cancel" } else { "complete" }
        );
        // Back to one session for the next round, whichever came first.
        if answered == StatusCode::OK && round % 2 == 1 {
            assert_eq!(
                waiting
                    .device
                    .post("/api/auth/logout", json!({}))
                    .await
                    .status(),
                StatusCode::NO_CONTENT
            );
        } else if approved == StatusCode::OK {
            assert!(!cancel().await.status().is_server_error());
        }
        assert_eq!(app.active_sessions_in_db().await, 1, "round {round}");
    }
}

/// The safety net under that lock order: a transaction that PostgreSQL aborts to break a
/// deadlock runs again (`storage::transaction::run`, which every service transaction goes
/// through) instead of failing.
#[tokio::test]
async fn a_transaction_chosen_as_a_deadlock_victim_runs_again_and_succeeds() {
    use std::sync::atomic::{AtomicU32, Ordering};

    use api::storage::{transaction, users};

    let app = spawn_app().await;
    app.signed_up("ada@example.com").await;
    app.signed_up("grace@example.com").await;
    let ids: Vec<uuid::Uuid> = app
        .sql("SELECT id FROM users ORDER BY email")
        .await
        .iter()
        .map(|row| row["id"].as_str().unwrap().parse().unwrap())
        .collect();
    let (ada, grace) = (ids[0], ids[1]);
    let both_hold_one = tokio::sync::Barrier::new(2);
    let runs = AtomicU32::new(0);
    // Each locks one user, waits until the other holds the other user, then wants it.
    let lock_both = |first: uuid::Uuid, second: uuid::Uuid| {
        let (state, both_hold_one, runs) = (app.state.clone(), &both_hold_one, &runs);
        async move {
            let mut conn = state.pool.get().await.unwrap();
            transaction::run(&mut conn, async |conn| {
                let run = runs.fetch_add(1, Ordering::SeqCst);
                users::lock(conn, first).await?;
                if run < 2 {
                    both_hold_one.wait().await;
                }
                users::lock(conn, second).await?;
                Ok(())
            })
            .await
        }
    };
    let (one, other) = tokio::join!(lock_both(ada, grace), lock_both(grace, ada));
    one.expect("the first transaction commits");
    other.expect("the second transaction commits");
    assert_eq!(
        runs.load(Ordering::SeqCst),
        3,
        "the deadlock's victim ran once more"
    );
}

#[tokio::test]
async fn a_pending_token_is_the_only_key_to_the_waiting_socket_and_to_completion() {
    let app = spawn_app().await;
    let first = app.user_with_one_session().await;
    let waiting = app
        .pending_approval("ada@example.com", FIREFOX_WINDOWS)
        .await;
    let mut wrong = waiting_socket(app.port, &waiting.id, "guess").await;
    assert_eq!(closed(&mut wrong).await, Some(1008));
    // The code is not a key.
    let mut by_code = waiting_socket(app.port, &waiting.id, &waiting.code).await;
    assert_eq!(closed(&mut by_code).await, Some(1008));
    waiting.approve_from(&first).await;
    let thief = app.device(CHROME_LINUX);
    let stolen = thief
        .post(
            &format!("/api/login/approvals/{}/complete", waiting.id),
            json!({"pending_token": "guess"}),
        )
        .await;
    assert_error(stolen, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(waiting.complete().await.status(), StatusCode::OK);
    let replay = thief
        .post(
            &format!("/api/login/approvals/{}/complete", waiting.id),
            json!({"pending_token": waiting.token}),
        )
        .await;
    assert_error(replay, StatusCode::GONE, "approval_used").await;
    assert_error(
        thief.me().await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
}

/// The one test of the deprecated `?token=` form (to go with it: see the README).
#[tokio::test]
async fn the_deprecated_token_in_the_url_still_opens_the_waiting_socket_and_nothing_else_does() {
    let app = spawn_app().await;
    app.user_with_one_session().await;
    let waiting = app
        .pending_approval("ada@example.com", FIREFOX_WINDOWS)
        .await;
    let url = |token: &str| {
        format!(
            "ws://127.0.0.1:{}{}?token={token}",
            app.port,
            shared::routes::with_id(shared::routes::WAITING_SOCKET_DEPRECATED, &waiting.id)
        )
    };
    assert!(connect(&url("guess"), &[]).await.is_err());
    // The code is not a key.
    assert!(connect(&url(&waiting.code), &[]).await.is_err());
    let mut socket = connect(&url(&waiting.token), &[])
        .await
        .expect("the waiting socket opens");
    assert!(matches!(
        next_pending_message(&mut socket).await,
        PendingMessage::Pending { .. }
    ));
}

#[tokio::test]
async fn another_user_cannot_approve_or_see_my_requests() {
    let app = spawn_app().await;
    app.signed_up("ada@example.com").await;
    let mallory = app.signed_up("mallory@example.com").await;
    let waiting = app
        .pending_approval("ada@example.com", FIREFOX_WINDOWS)
        .await;
    let response = mallory
        .post(
            &format!("/api/approvals/{}/approve", waiting.id),
            json!({"code": waiting.code}),
        )
        .await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    let pending: Value = mallory.get("/api/approvals").await.json().await.unwrap();
    assert_eq!(pending["approvals"], json!([]));
}

#[tokio::test]
async fn the_new_device_can_withdraw_its_request_and_the_prompt_goes_away() {
    let app = spawn_app().await;
    let first = app.user_with_one_session().await;
    let mut prompt = first.session_socket().await;
    let waiting = app
        .pending_approval("ada@example.com", FIREFOX_WINDOWS)
        .await;
    next_server_message(&mut prompt).await; // the prompt
    let cancel_path = format!("/api/login/approvals/{}/cancel", waiting.id);
    let cancel = |token: String| {
        waiting
            .device
            .post(&cancel_path, json!({"pending_token": token}))
    };
    assert_error(
        cancel("guess".into()).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let cancelled = cancel(waiting.token.clone()).await;
    assert_eq!(cancelled.status(), StatusCode::OK);
    assert!(matches!(
        next_server_message(&mut prompt).await,
        ServerMessage::ApprovalResolved { outcome, .. } if outcome == "cancelled"
    ));
    let late = waiting.approve_from(&first).await;
    assert_error(late, StatusCode::GONE, "approval_cancelled").await;
    assert_error(
        waiting.complete().await,
        StatusCode::GONE,
        "approval_cancelled",
    )
    .await;
    assert_error(
        cancel(waiting.token.clone()).await,
        StatusCode::GONE,
        "approval_cancelled",
    )
    .await;
    let pending: Value = first.get("/api/approvals").await.json().await.unwrap();
    assert_eq!(pending["approvals"], json!([]));
    let activity: Value = first
        .get("/api/activity?limit=1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(activity["items"][0]["kind"], "approval_cancelled");
}
