//! The account's whole life: deleting it (by its owner or an operator), exporting its data,
//! and moving it to another address.

use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::ws::{PendingMessage, ServerMessage};

use crate::support::*;

/// `DELETE /api/me` with the current password.
async fn delete_account(device: &Device, password: &str) -> reqwest::Response {
    device
        .client
        .delete(device.url("/api/me"))
        .json(&json!({"current_password": password}))
        .send()
        .await
        .expect("request sent")
}

/// The user's id, from `GET /api/auth/me`.
async fn user_id(device: &Device) -> String {
    let me: Value = device.me().await.json().await.unwrap();
    me["user"]["id"].as_str().unwrap().to_owned()
}

/// Rows of `user_id` in every table that has a `user_id` column, by table (empty tables
/// left out).
async fn rows_of_user(app: &TestApp, user_id: &str) -> Vec<(String, i64)> {
    let tables = app
        .sql(
            "SELECT table_name::text AS name FROM information_schema.columns \
             WHERE table_schema = 'public' AND column_name = 'user_id' ORDER BY table_name",
        )
        .await;
    assert!(tables.len() >= 6, "the walk finds the tables: {tables:?}");
    let mut found = Vec::new();
    for table in tables {
        let name = table["name"].as_str().unwrap();
        let count = app
            .sql(&format!(
                "SELECT count(*) AS n FROM {name} WHERE user_id = '{user_id}'"
            ))
            .await[0]["n"]
            .as_i64()
            .unwrap();
        if count > 0 {
            found.push((name.to_owned(), count));
        }
    }
    found
}

/// Tables (but the login throttle's, whose counters are kept for their window) holding a
/// row whose text contains `needle`.
async fn tables_mentioning(app: &TestApp, needle: &str) -> Vec<String> {
    let tables = app
        .sql(
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE' \
               AND table_name NOT IN ('login_attempts', '__diesel_schema_migrations')",
        )
        .await;
    let mut found = Vec::new();
    for table in tables {
        let name = table["name"].as_str().unwrap();
        let count = app
            .sql(&format!(
                "SELECT count(*) AS n FROM {name} t WHERE t::text LIKE '%{needle}%'"
            ))
            .await[0]["n"]
            .as_i64()
            .unwrap();
        if count > 0 {
            found.push(name.to_owned());
        }
    }
    found
}

/// The tables but the throttle's that mention `needle` once the mail due is sent (the
/// goodbye mail keeps its recipient until then).
async fn tables_mentioning_once_mail_is_sent(app: &TestApp, needle: &str) -> Vec<String> {
    app.deliver_mail().await;
    tables_mentioning(app, needle).await
}

#[tokio::test]
async fn deleting_the_account_ends_everything_leaves_no_row_of_it_and_frees_the_address() {
    let (app, mailbox) = app_with_mailbox().await;
    let owner = verified_user(&app, &mailbox).await;
    let id = user_id(&owner).await;
    // A request in flight, and both sockets listening.
    let waiting = app
        .pending_approval("ada@example.com", FIREFOX_WINDOWS)
        .await;
    let mut waiting_socket = waiting.socket().await;
    assert!(matches!(
        next_pending_message(&mut waiting_socket).await,
        PendingMessage::Pending { .. }
    ));
    let mut socket = owner.session_socket().await;
    assert!(!rows_of_user(&app, &id).await.is_empty());

    // The password is asked for, and a wrong one counts like a failed sign-in.
    assert_error(
        delete_account(&owner, "not the password").await,
        StatusCode::FORBIDDEN,
        "wrong_password",
    )
    .await;
    let cookies_before = owner.cookie_header();
    let deleted = delete_account(&owner, PASSWORD).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert!(
        deleted
            .headers()
            .get("clear-site-data")
            .is_some_and(|value| value.to_str().unwrap().contains("cookies"))
    );

    // The socket is told why, then closed; the waiting device hears its request cancelled.
    let revoked = next_beyond_requests(&mut socket).await;
    assert_eq!(
        revoked,
        ServerMessage::SessionRevoked {
            reason: "account_deleted".into(),
            replaced_by: None,
        }
    );
    assert_eq!(closed(&mut socket).await, Some(1008));
    assert_eq!(
        next_pending_message(&mut waiting_socket).await,
        PendingMessage::Cancelled
    );
    assert_ne!(waiting.complete().await.status(), StatusCode::OK);
    // The browser was told to forget its cookies; one kept anyway is worthless.
    assert_error(
        owner.me().await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    let kept = reqwest::Client::new()
        .get(app.url("/api/auth/me"))
        .header("cookie", &cookies_before)
        .send()
        .await
        .unwrap();
    assert_error(kept, StatusCode::UNAUTHORIZED, "invalid_session").await;

    // Not one row of the account in any table, and, once the goodbye is sent, not its
    // address anywhere either.
    assert_eq!(rows_of_user(&app, &id).await, vec![]);
    let goodbye = mail_with_subject(&mailbox, "Your account was deleted").await;
    assert_eq!(goodbye.to, ["ada@example.com"]);
    assert_eq!(
        tables_mentioning_once_mail_is_sent(&app, "ada@example.com").await,
        Vec::<String>::new()
    );

    // The address is free at once; the old browser is a stranger to the new account.
    let again = app.device(CHROME_LINUX);
    let signup = again
        .post(
            "/api/auth/signup",
            json!({"email": "ada@example.com", "password": PASSWORD, "name": "Ada again"}),
        )
        .await;
    assert_eq!(signup.status(), StatusCode::CREATED);
    assert_ne!(user_id(&again).await, id);
}

#[tokio::test]
async fn a_deleted_accounts_socket_on_another_instance_hears_it_and_closes() {
    let pair = spawn_two_instances().await;
    let owner = pair.a.user_with_one_session().await;
    let mut socket_on_b = owner.via(&pair.b).session_socket().await;

    assert_eq!(
        delete_account(&owner, PASSWORD).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        next_revocation(&mut socket_on_b).await,
        ServerMessage::SessionRevoked {
            reason: "account_deleted".into(),
            replaced_by: None,
        }
    );
    assert_eq!(closed(&mut socket_on_b).await, Some(1008));
}

#[tokio::test]
async fn a_young_session_cannot_delete_the_account_while_an_older_one_is_active() {
    let app = spawn_app().await;
    let (first, second) = app.user_with_two_sessions().await;
    assert_error(
        delete_account(&second, PASSWORD).await,
        StatusCode::FORBIDDEN,
        "session_too_new",
    )
    .await;
    assert_eq!(first.me().await.status(), StatusCode::OK);
}

#[tokio::test]
async fn admin_delete_user_deletes_the_account_with_the_same_effects() {
    let (app, mailbox) = app_with_mailbox().await;
    let owner = verified_user(&app, &mailbox).await;
    let id = user_id(&owner).await;
    let mut socket = owner.session_socket().await;

    let output = run_admin(&app, &["user", "delete", "ada@example.com", "--json"]).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer["deleted"], "ada@example.com");
    assert_eq!(answer["sessions_ended"], 1);

    assert_eq!(
        next_revocation(&mut socket).await,
        ServerMessage::SessionRevoked {
            reason: "account_deleted".into(),
            replaced_by: None,
        }
    );
    assert_eq!(rows_of_user(&app, &id).await, vec![]);
    let goodbye = mail_with_subject(&mailbox, "Your account was deleted").await;
    assert!(goodbye.text().contains("an administrator"));

    let again = run_admin(&app, &["user", "delete", "ada@example.com"]).await;
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("No user with this email"));
}

/// Every hash and token the database holds for the user, as bytes or text.
async fn secrets_of(app: &TestApp, user_id: &str) -> Vec<Vec<u8>> {
    let rows = app
        .sql(&format!(
            "SELECT encode(token_hash, 'hex') AS hex FROM sessions WHERE user_id = '{user_id}' \
             UNION ALL SELECT encode(code_hash, 'hex') FROM login_approvals WHERE user_id = '{user_id}' \
             UNION ALL SELECT encode(pending_token_hash, 'hex') FROM login_approvals WHERE user_id = '{user_id}' \
             UNION ALL SELECT encode(token_hash, 'hex') FROM email_links WHERE user_id = '{user_id}' \
             UNION ALL SELECT encode(convert_to(password_hash, 'UTF8'), 'hex') FROM users WHERE id = '{user_id}' \
             UNION ALL SELECT encode(convert_to(payload->>'token', 'UTF8'), 'hex') FROM mail_outbox \
                 WHERE user_id = '{user_id}' AND payload ? 'token' \
             UNION ALL SELECT encode(secret, 'hex') FROM totp_factors WHERE user_id = '{user_id}' \
             UNION ALL SELECT encode(code_hash, 'hex') FROM recovery_codes WHERE user_id = '{user_id}'"
        ))
        .await;
    rows.iter()
        .map(|row| {
            let hex = row["hex"].as_str().unwrap();
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect()
        })
        .collect()
}

/// The forms a secret could take in a document: hex (both cases), base64 (standard and
/// URL-safe, with and without padding), and as text when it is text.
fn forms_of(secret: &[u8]) -> Vec<String> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let hex: String = secret.iter().map(|byte| format!("{byte:02x}")).collect();
    let mut forms = vec![
        hex.to_uppercase(),
        hex,
        STANDARD.encode(secret),
        STANDARD_NO_PAD.encode(secret),
        URL_SAFE.encode(secret),
        URL_SAFE_NO_PAD.encode(secret),
    ];
    if let Ok(text) = std::str::from_utf8(secret) {
        forms.push(text.to_owned());
    }
    forms.push(base32(secret));
    forms
}

/// RFC 4648 base32 without padding: how an authenticator app's secret is shown.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

#[tokio::test]
async fn the_export_holds_the_whole_history_in_pages_and_not_one_secret() {
    let (app, mailbox) = app_with_mailbox().await;
    let owner = verified_user(&app, &mailbox).await;
    let id = user_id(&owner).await;
    // A second device (a request, a session, a new-device alert), a failed sign-in, and a
    // reset link waiting in the outbox or sent.
    let second = app
        .second_device(&owner, "ada@example.com", FIREFOX_WINDOWS)
        .await;
    assert_eq!(
        second
            .client
            .post(second.url("/api/auth/logout"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    app.device(SAFARI_IPHONE)
        .login("ada@example.com", "not the password")
        .await;
    app.device(SAFARI_IPHONE)
        .post(
            "/api/auth/password-reset",
            json!({"email": "ada@example.com"}),
        )
        .await;
    // A long log: more than a page of activity and of alerts.
    app.execute(&format!(
        "INSERT INTO activity (user_id, kind, ip, device, created_at) \
         SELECT '{id}', CASE WHEN n % 2 = 0 THEN 'login_failed' ELSE 'new_device_login' END, \
                '198.51.100.7', 'Curl', now() - n * interval '1 second' \
         FROM generate_series(1, 1300) AS n"
    ))
    .await;

    // How the account signs in: a passkey and the authenticator app (whose secret and
    // recovery codes must not appear).
    let mut authenticator = PasskeyAuthenticator::for_app(&app);
    owner.added_passkey(&mut authenticator, "Laptop").await;
    app.turn_on_totp(&owner).await;

    let response = owner.get("/api/me/export").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .headers()
            .get("content-disposition")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let text = response.text().await.unwrap();
    let document: Value = serde_json::from_str(&text).expect("one JSON document");

    assert_eq!(document["profile"]["email"], "ada@example.com");
    let methods = &document["sign_in_methods"];
    assert_eq!(methods["passkeys"][0]["name"], "Laptop");
    assert!(methods["authenticator_app_enabled_at"].is_string());
    assert_eq!(methods["recovery_codes_left"], 10);
    assert_eq!(document["profile"]["id"], id.as_str());
    let sessions = document["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert!(
        sessions
            .iter()
            .any(|session| session["end_reason"] == "logout" && session["ip"] == "127.0.0.1")
    );
    assert_eq!(document["sign_in_requests"].as_array().unwrap().len(), 1);
    assert_eq!(document["sign_in_requests"][0]["status"], "completed");
    let stored = |query: String| {
        let app = &app;
        async move { app.sql(&query).await[0]["n"].as_i64().unwrap() }
    };
    let activity = stored(format!(
        "SELECT count(*) AS n FROM activity WHERE user_id = '{id}'"
    ))
    .await;
    assert!(activity > 1300);
    assert_eq!(
        document["activity"].as_array().unwrap().len() as i64,
        activity
    );
    let alerts = document["alerts"].as_array().unwrap();
    assert!(alerts.len() > 650);
    assert!(
        alerts
            .iter()
            .all(|alert| alert["kind"] == "new_device_login")
    );
    assert!(!document["signed_in_from"].as_array().unwrap().is_empty());
    assert!(
        document["mail"]
            .as_array()
            .unwrap()
            .iter()
            .any(|mail| mail["kind"] == "verify_email")
    );

    // Not one hash or token the database holds for the user, in any form.
    let secrets = secrets_of(&app, &id).await;
    assert!(
        secrets.len() >= 17,
        "the secrets were found: {}",
        secrets.len()
    );
    for secret in &secrets {
        for form in forms_of(secret) {
            assert!(!text.contains(&form), "the export holds a secret: {form}");
        }
    }
    assert!(!text.contains("hash") && !text.contains("token"));

    // Rate-limited: five an hour.
    for _ in 0..4 {
        assert_eq!(owner.get("/api/me/export").await.status(), StatusCode::OK);
    }
    assert_error(
        owner.get("/api/me/export").await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_exports",
    )
    .await;
}

async fn ask_to_move(device: &Device, new_email: &str) -> reqwest::Response {
    device
        .post(
            "/api/me/email",
            json!({"new_email": new_email, "current_password": PASSWORD}),
        )
        .await
}

#[tokio::test]
async fn a_change_of_address_is_confirmed_through_the_mail_and_ends_the_other_sessions() {
    let (app, mailbox) = app_with_mailbox().await;
    let owner = verified_user(&app, &mailbox).await;
    let second = app
        .second_device(&owner, "ada@example.com", FIREFOX_WINDOWS)
        .await;

    assert_error(
        owner
            .post(
                "/api/me/email",
                json!({"new_email": "ada@new.example", "current_password": "wrong one"}),
            )
            .await,
        StatusCode::FORBIDDEN,
        "wrong_password",
    )
    .await;
    let asked = ask_to_move(&owner, "ada@new.example").await;
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    let asked: Value = asked.json().await.unwrap();
    assert_eq!(asked["pending"]["new_email"], "ada@new.example");
    let status: Value = owner.get("/api/me/email").await.json().await.unwrap();
    assert_eq!(status["pending"]["new_email"], "ada@new.example");

    // The link goes to the new address, a notice with "this wasn't me" to the old one, and
    // until the link is used the old address is the account's.
    let link = mail_with_subject(&mailbox, "Confirm your new e-mail address").await;
    assert_eq!(link.to, ["ada@new.example"]);
    let notice = mail_with_subject(&mailbox, "A change of your e-mail address was asked for").await;
    assert_eq!(notice.to, ["ada@example.com"]);
    assert!(!notice.secure_account_token().is_empty());
    let me: Value = owner.me().await.json().await.unwrap();
    assert_eq!(me["user"]["email"], "ada@example.com");

    let confirmed = owner
        .post(
            "/api/auth/confirm-email-change",
            json!({"token": link.link_token()}),
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let user: Value = confirmed.json().await.unwrap();
    assert_eq!(user["email"], "ada@new.example");
    assert_eq!(user["email_verified"], true);

    // Once: the same link again is dead. The browser that used it stays; the other is out.
    assert_error(
        app.device(CHROME_LINUX)
            .post(
                "/api/auth/confirm-email-change",
                json!({"token": link.link_token()}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_link",
    )
    .await;
    assert_eq!(owner.me().await.status(), StatusCode::OK);
    assert_error(
        second.me().await,
        StatusCode::UNAUTHORIZED,
        "invalid_session",
    )
    .await;
    let history: Value = owner
        .get("/api/sessions/history")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        history["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|session| session["end_reason"] == "email_changed")
    );
    let status: Value = owner.get("/api/me/email").await.json().await.unwrap();
    assert_eq!(status["pending"], Value::Null);

    // The new address signs in; the old one is free for a new account.
    assert_eq!(
        app.device(FIREFOX_WINDOWS)
            .login("ada@new.example", PASSWORD)
            .await
            .status(),
        StatusCode::ACCEPTED,
        "a new device of the moved account still needs the signed-in one"
    );
    let fresh = app.device(SAFARI_IPHONE);
    let signup = fresh
        .post(
            "/api/auth/signup",
            json!({"email": "ada@example.com", "password": PASSWORD, "name": "Another Ada"}),
        )
        .await;
    assert_eq!(signup.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn an_address_taken_answers_alike_mails_its_owner_and_a_link_for_a_taken_address_does_not_switch()
 {
    let (app, mailbox) = app_with_mailbox().await;
    let owner = verified_user(&app, &mailbox).await;
    app.signed_up("bob@example.com").await;

    // Taken: the same answer; Bob hears of it, and no link goes anywhere.
    let asked = ask_to_move(&owner, "bob@example.com").await;
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    let asked: Value = asked.json().await.unwrap();
    assert_eq!(asked["pending"]["new_email"], "bob@example.com");
    let told = mail_with_subject(&mailbox, "Someone tried to use your e-mail address").await;
    assert_eq!(told.to, ["bob@example.com"]);
    mail_with_subject(&mailbox, "A change of your e-mail address was asked for").await;
    assert!(
        mailbox
            .received()
            .iter()
            .all(|mail| mail.subject() != "Confirm your new e-mail address")
    );

    // Free when asked, taken before the link is used: the link does not switch.
    assert_eq!(
        ask_to_move(&owner, "carol@example.com").await.status(),
        StatusCode::ACCEPTED
    );
    let link = mail_with_subject(&mailbox, "Confirm your new e-mail address").await;
    assert_eq!(link.to, ["carol@example.com"]);
    app.signed_up("carol@example.com").await;
    assert_error(
        owner
            .post(
                "/api/auth/confirm-email-change",
                json!({"token": link.link_token()}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_link",
    )
    .await;
    let me: Value = owner.me().await.json().await.unwrap();
    assert_eq!(me["user"]["email"], "ada@example.com");
}

#[tokio::test]
async fn this_wasnt_me_in_the_notice_cancels_the_change_of_address() {
    let (app, mailbox) = app_with_mailbox().await;
    let owner = verified_user(&app, &mailbox).await;
    assert_eq!(
        ask_to_move(&owner, "thief@example.net").await.status(),
        StatusCode::ACCEPTED
    );
    let link = mail_with_subject(&mailbox, "Confirm your new e-mail address").await;
    let notice = mail_with_subject(&mailbox, "A change of your e-mail address was asked for").await;
    app.deliver_mail().await;
    let secured = app
        .device(CHROME_LINUX)
        .post(
            "/api/auth/secure-account",
            json!({"token": notice.secure_account_token()}),
        )
        .await;
    assert_eq!(secured.status(), StatusCode::OK);
    assert_error(
        app.device(FIREFOX_WINDOWS)
            .post(
                "/api/auth/confirm-email-change",
                json!({"token": link.link_token()}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_link",
    )
    .await;
}
