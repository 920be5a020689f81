//! Passkeys with a software authenticator: registering, signing in (discoverable), what is
//! refused (another origin, a replay, a removed passkey), the cap, two instances, the
//! session limit a passkey sign-in is held to like any other, sudo mode with a passkey, and
//! what the owner is told (activity log, mail).

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn a_passkey_signs_a_new_browser_in_without_a_mailed_code_and_is_listed_as_used() {
    let (app, mailbox) = app_with_mailbox().await;
    let owner = verified_user(&app, &mailbox).await;
    let mut authenticator = PasskeyAuthenticator::for_app(&app);
    let id = owner.added_passkey(&mut authenticator, "Laptop").await;
    let listed: Value = owner.get("/api/me/passkeys").await.json().await.unwrap();
    assert_eq!(listed["max_passkeys"], 10);
    assert_eq!(listed["passkeys"][0]["id"], id.as_str());
    assert_eq!(listed["passkeys"][0]["name"], "Laptop");
    assert!(listed["passkeys"][0]["last_used_at"].is_null());
    assert_eq!(
        owner.post("/api/auth/logout", json!({})).await.status(),
        StatusCode::NO_CONTENT
    );

    // A browser the account never saw: a password would need the mailed code; a passkey
    // is proof enough.
    let stranger = app.device(FIREFOX_WINDOWS);
    let signed_in = stranger.sign_in_with_passkey(&mut authenticator).await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    assert!(set_cookie(&signed_in, "sm_device").is_some());
    let body: Value = signed_in.json().await.unwrap();
    assert_eq!(body["user"]["email"], "ada@example.com");
    assert_eq!(stranger.me().await.status(), StatusCode::OK);
    let activity = app
        .sql("SELECT detail FROM activity WHERE kind = 'login' ORDER BY id DESC LIMIT 1")
        .await;
    assert_eq!(activity[0]["detail"], "signed in with a passkey");

    let listed: Value = stranger.get("/api/me/passkeys").await.json().await.unwrap();
    assert!(listed["passkeys"][0]["last_used_at"].is_string());
}

#[tokio::test]
async fn a_passkey_is_renamed_and_removed_by_its_owner_only() {
    let app = spawn_app().await;
    let owner = app.user_with_one_session().await;
    let other = app.signed_up("bob@example.com").await;
    let mut authenticator = PasskeyAuthenticator::for_app(&app);
    let id = owner.added_passkey(&mut authenticator, "Laptop").await;
    let path = format!("/api/me/passkeys/{id}");

    assert_error(
        other.patch(&path, json!({"name": "Mine"})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        other.delete(&path).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        owner.patch(&path, json!({"name": "  "})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;

    let renamed = owner.patch(&path, json!({"name": " Work laptop "})).await;
    assert_eq!(renamed.status(), StatusCode::OK);
    let renamed: Value = renamed.json().await.unwrap();
    assert_eq!(renamed["name"], "Work laptop");

    assert_eq!(owner.delete(&path).await.status(), StatusCode::NO_CONTENT);
    assert_error(
        owner.delete(&path).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let listed: Value = owner.get("/api/me/passkeys").await.json().await.unwrap();
    assert_eq!(listed["passkeys"], json!([]));
}

#[tokio::test]
async fn a_removed_passkey_signs_in_no_more() {
    let app = spawn_app().await;
    let owner = app.user_with_one_session().await;
    let mut authenticator = PasskeyAuthenticator::for_app(&app);
    let id = owner.added_passkey(&mut authenticator, "Laptop").await;
    assert_eq!(
        owner
            .delete(&format!("/api/me/passkeys/{id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let refused = app
        .device(FIREFOX_WINDOWS)
        .sign_in_with_passkey(&mut authenticator)
        .await;
    assert_error(refused, StatusCode::BAD_REQUEST, "passkey_rejected").await;
    assert_eq!(app.active_sessions_in_db().await, 1);
}

#[tokio::test]
async fn a_passkey_answer_made_for_another_origin_is_refused() {
    let app = spawn_app().await;
    let owner = app.user_with_one_session().await;
    // Another port is another origin (a phishing page on this machine, say).
    let mut elsewhere = PasskeyAuthenticator::at_origin("http://localhost:1");
    let refused = owner.add_passkey(&mut elsewhere, "Laptop").await;
    assert_error(refused, StatusCode::BAD_REQUEST, "passkey_rejected").await;

    // A passkey registered here, used by a page at another origin.
    let mut authenticator = PasskeyAuthenticator::for_app(&app);
    owner.added_passkey(&mut authenticator, "Laptop").await;
    authenticator.move_to("http://localhost:1");
    let refused = app
        .device(FIREFOX_WINDOWS)
        .sign_in_with_passkey(&mut authenticator)
        .await;
    assert_error(refused, StatusCode::BAD_REQUEST, "passkey_rejected").await;
    assert_eq!(app.count("SELECT count(*) AS n FROM passkeys").await, 1);
}

#[tokio::test]
async fn a_replayed_passkey_assertion_is_refused() {
    let app = spawn_app().await;
    let owner = app.user_with_one_session().await;
    let mut authenticator = PasskeyAuthenticator::for_app(&app);
    owner.added_passkey(&mut authenticator, "Laptop").await;
    owner.post("/api/auth/logout", json!({})).await;

    let browser = app.device(FIREFOX_WINDOWS);
    let assertion = browser.passkey_assertion(&mut authenticator).await;
    let first = browser
        .post("/api/auth/passkey/finish", assertion.clone())
        .await;
    assert_eq!(first.status(), StatusCode::OK);

    // The same answer again: its challenge was used.
    let thief = app.device(SAFARI_IPHONE);
    let again = thief
        .post("/api/auth/passkey/finish", assertion.clone())
        .await;
    assert_error(again, StatusCode::BAD_REQUEST, "invalid_challenge").await;
    // With a fresh challenge: the signed client data names the old one.
    let started: Value = thief
        .post("/api/auth/passkey/start", json!({}))
        .await
        .json()
        .await
        .unwrap();
    let mut replay = assertion;
    replay["challenge_id"] = started["challenge_id"].clone();
    let again = thief.post("/api/auth/passkey/finish", replay).await;
    assert_error(again, StatusCode::BAD_REQUEST, "passkey_rejected").await;
    assert_eq!(app.active_sessions_in_db().await, 1);
}

#[tokio::test]
async fn a_passkey_challenge_expires_after_five_minutes() {
    let app = spawn_app().await;
    let owner = app.user_with_one_session().await;
    let mut authenticator = PasskeyAuthenticator::for_app(&app);
    owner.added_passkey(&mut authenticator, "Laptop").await;
    let assertion = owner.passkey_assertion(&mut authenticator).await;
    app.clock
        .advance(Duration::minutes(5) + Duration::seconds(30));
    let late = app
        .device(FIREFOX_WINDOWS)
        .post("/api/auth/passkey/finish", assertion)
        .await;
    assert_error(late, StatusCode::BAD_REQUEST, "invalid_challenge").await;
    // Begun and never finished: the sweeper clears it.
    app.device(FIREFOX_WINDOWS)
        .post("/api/auth/passkey/start", json!({}))
        .await;
    app.clock.advance(Duration::minutes(6));
    app.sweep().await;
    assert_eq!(
        app.count("SELECT count(*) AS n FROM passkey_challenges")
            .await,
        0
    );
}

#[tokio::test]
async fn a_passkey_ceremony_begun_on_one_instance_finishes_on_another() {
    let Pair { a, b } = spawn_two_instances_with(|settings| {
        settings.server.public_url = Some("http://localhost:8080".to_owned());
    })
    .await;
    let owner = a.user_with_one_session().await;
    let mut authenticator = PasskeyAuthenticator::at_origin("http://localhost:8080");

    let started: Value = owner
        .post("/api/me/passkeys/register/start", json!({}))
        .await
        .json()
        .await
        .unwrap();
    let credential = authenticator.create(started["options"].clone());
    let added = owner
        .via(&b)
        .post(
            "/api/me/passkeys/register/finish",
            json!({"challenge_id": started["challenge_id"], "name": "Laptop", "credential": credential}),
        )
        .await;
    assert_eq!(added.status(), StatusCode::CREATED);
    owner.post("/api/auth/logout", json!({})).await;

    let browser = b.device(FIREFOX_WINDOWS);
    let assertion = browser.passkey_assertion(&mut authenticator).await;
    let signed_in = browser
        .via(&a)
        .post("/api/auth/passkey/finish", assertion)
        .await;
    assert_eq!(signed_in.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_account_has_at_most_ten_passkeys() {
    let app = spawn_app().await;
    let owner = app.user_with_one_session().await;
    let mut authenticators: Vec<PasskeyAuthenticator> = (0..11)
        .map(|_| PasskeyAuthenticator::for_app(&app))
        .collect();
    for (n, authenticator) in authenticators.iter_mut().take(10).enumerate() {
        owner
            .added_passkey(authenticator, &format!("Key {n}"))
            .await;
    }
    let refused = owner
        .post("/api/me/passkeys/register/start", json!({}))
        .await;
    let body = assert_error(refused, StatusCode::CONFLICT, "passkey_limit").await;
    assert!(body["error"].as_str().unwrap().contains("10 passkeys"));
    let listed: Value = owner.get("/api/me/passkeys").await.json().await.unwrap();
    assert_eq!(listed["passkeys"].as_array().unwrap().len(), 10);
}

#[tokio::test]
async fn a_passkey_sign_in_on_another_device_is_held_to_the_session_limit_and_its_policy() {
    let app = spawn_app().await;
    let owner = app.user_with_one_session().await;
    let mut authenticator = PasskeyAuthenticator::for_app(&app);
    owner.added_passkey(&mut authenticator, "Phone").await;

    // Policy `approve`, one session active: the signed-in device must approve.
    let waiting = app
        .device(FIREFOX_WINDOWS)
        .sign_in_with_passkey(&mut authenticator)
        .await;
    assert_eq!(waiting.status(), StatusCode::ACCEPTED);
    let waiting: Value = waiting.json().await.unwrap();
    assert_eq!(waiting["status"], "approval_required");
    let approved = owner
        .post(
            &format!(
                "/api/approvals/{}/approve",
                waiting["approval_id"].as_str().unwrap()
            ),
            json!({"code": waiting["code"]}),
        )
        .await;
    assert_eq!(approved.status(), StatusCode::OK);
    let completed = app
        .device(FIREFOX_WINDOWS)
        .post(
            &format!(
                "/api/login/approvals/{}/complete",
                waiting["approval_id"].as_str().unwrap()
            ),
            json!({"pending_token": waiting["pending_token"]}),
        )
        .await;
    assert_eq!(completed.status(), StatusCode::OK);
    assert_eq!(app.active_sessions_in_db().await, 2);

    // Two sessions, the limit: a third device is refused, passkey or not.
    let refused = app
        .device(SAFARI_IPHONE)
        .sign_in_with_passkey(&mut authenticator)
        .await;
    assert_error(refused, StatusCode::CONFLICT, "session_limit").await;
}

#[tokio::test]
async fn malformed_passkey_requests_are_client_errors() {
    let app = spawn_app().await;
    let owner = app.user_with_one_session().await;
    let unknown = json!({"challenge_id": uuid::Uuid::new_v4(), "credential": {"id": "x"}});
    let response = app
        .device(FIREFOX_WINDOWS)
        .post("/api/auth/passkey/finish", unknown)
        .await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;

    let started: Value = owner
        .post("/api/me/passkeys/register/start", json!({}))
        .await
        .json()
        .await
        .unwrap();
    let garbage =
        json!({"challenge_id": started["challenge_id"], "name": "Key", "credential": {"id": 1}});
    let response = owner
        .post("/api/me/passkeys/register/finish", garbage)
        .await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    // Another account's challenge is no challenge of this one.
    let other = app.signed_up("bob@example.com").await;
    let mut authenticator = PasskeyAuthenticator::for_app(&app);
    let credential = authenticator.create(started["options"].clone());
    let response = other
        .post(
            "/api/me/passkeys/register/finish",
            json!({"challenge_id": started["challenge_id"], "name": "Key", "credential": credential}),
        )
        .await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_challenge").await;
}

#[tokio::test]
async fn a_passkey_of_the_account_renews_sudo_mode_and_another_accounts_passkey_does_not() {
    let app = spawn_app().await;
    let owner = app.user_with_one_session().await;
    let mut mine = PasskeyAuthenticator::for_app(&app);
    owner.added_passkey(&mut mine, "Laptop").await;
    let other = app.signed_up("bob@example.com").await;
    let mut theirs = PasskeyAuthenticator::for_app(&app);
    other.added_passkey(&mut theirs, "Bob's phone").await;
    app.clock.advance(Duration::seconds(601));
    assert_error(
        owner.delete("/api/sessions/others").await,
        StatusCode::FORBIDDEN,
        "reauthentication_required",
    )
    .await;

    assert_error(
        owner.reauthenticate_with_passkey(&mut theirs).await,
        StatusCode::BAD_REQUEST,
        "passkey_rejected",
    )
    .await;
    assert_error(
        owner.delete("/api/sessions/others").await,
        StatusCode::FORBIDDEN,
        "reauthentication_required",
    )
    .await;

    let proved = owner.reauthenticate_with_passkey(&mut mine).await;
    assert_eq!(proved.status(), StatusCode::OK);
    let session: Value = proved.json().await.unwrap();
    assert_eq!(session["proof_method"], "passkey");
    assert_eq!(
        owner.delete("/api/sessions/others").await.status(),
        StatusCode::OK
    );
    let logged = app
        .sql("SELECT detail FROM activity WHERE kind = 'reauthenticated'")
        .await;
    assert_eq!(logged[0]["detail"], "passkey");

    // A challenge is the asking account's, and good once.
    let started: Value = owner
        .post("/api/auth/reauthenticate/passkey/start", json!({}))
        .await
        .json()
        .await
        .unwrap();
    let answer = json!({
        "challenge_id": started["challenge_id"],
        "credential": mine.sign(started["options"].clone()),
    });
    assert_error(
        other
            .post("/api/auth/reauthenticate/passkey/finish", answer.clone())
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_challenge",
    )
    .await;
    // Another account's attempt did not use it up; its own session finishes it, once.
    assert_eq!(
        owner
            .post("/api/auth/reauthenticate/passkey/finish", answer.clone())
            .await
            .status(),
        StatusCode::OK
    );
    assert_error(
        owner
            .post("/api/auth/reauthenticate/passkey/finish", answer)
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_challenge",
    )
    .await;

    // Without a passkey there is nothing to ask for.
    let bare = app.signed_up("carol@example.com").await;
    assert_error(
        bare.post("/api/auth/reauthenticate/passkey/start", json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn adding_and_removing_a_passkey_is_in_the_activity_log_and_mailed_to_the_owner() {
    let (app, mailbox) = app_with_mailbox().await;
    let owner = verified_user(&app, &mailbox).await;
    let mut authenticator = PasskeyAuthenticator::for_app(&app);
    let id = owner.added_passkey(&mut authenticator, "Laptop").await;
    let added = mail_with_subject(&mailbox, "How your account signs in was changed").await;
    assert!(
        added.text().contains("a passkey was added"),
        "{}",
        added.text()
    );
    added.secure_account_token();

    assert_eq!(
        owner
            .delete(&format!("/api/me/passkeys/{id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let mails = mailbox
        .wait_for_subject("How your account signs in was changed", 2)
        .await;
    assert!(
        mails
            .iter()
            .any(|mail| mail.text().contains("a passkey was removed")),
        "{mails:?}"
    );

    let activity: Value = owner.get("/api/activity").await.json().await.unwrap();
    let entries = activity["items"].as_array().unwrap();
    let kinds: Vec<(&str, &str)> = entries
        .iter()
        .filter_map(|entry| Some((entry["kind"].as_str()?, entry["detail"].as_str()?)))
        .collect();
    assert!(kinds.contains(&("passkey_added", "Laptop")), "{kinds:?}");
    assert!(kinds.contains(&("passkey_removed", "Laptop")), "{kinds:?}");
}

#[tokio::test]
async fn an_address_may_begin_as_many_passkey_sign_ins_in_five_minutes_as_configured() {
    let app = spawn_app_with(|settings| settings.throttle.passkey_sign_in_max_per_ip = 5).await;
    let stranger = app.device(FIREFOX_WINDOWS);
    for _ in 0..5 {
        let started = stranger.post("/api/auth/passkey/start", json!({})).await;
        assert_status(started, StatusCode::OK).await;
    }
    let refused = stranger.post("/api/auth/passkey/start", json!({})).await;
    // Until the oldest of the five leaves the five-minute window.
    let retry_after = retry_after_secs(&refused);
    assert!((240..=300).contains(&retry_after), "{retry_after}");
    assert_error(refused, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    assert_eq!(
        app.count("SELECT count(*) AS n FROM passkey_challenges")
            .await,
        5
    );
    // The app's clock is the wall clock plus this offset: the margin keeps the test
    // independent of how long the requests took and of a wall clock stepped back a little.
    app.clock
        .advance(Duration::seconds(retry_after) + Duration::seconds(30));
    assert_status(
        stranger.post("/api/auth/passkey/start", json!({})).await,
        StatusCode::OK,
    )
    .await;
}

#[tokio::test]
async fn this_wasnt_me_in_the_mail_removes_every_passkey_and_the_authenticator_app_added_since() {
    let (app, mailbox) = app_with_mailbox().await;
    let owner = verified_user(&app, &mailbox).await;
    let mut intruders = PasskeyAuthenticator::for_app(&app);
    owner.added_passkey(&mut intruders, "Not mine").await;
    app.turn_on_totp(&owner).await;
    // The owner clicks the newest mail, about the app: the passkey added before it goes too,
    // as everything since the first mail still open.
    let mails = mailbox
        .wait_for_subject("How your account signs in was changed", 2)
        .await;
    assert!(
        mails[0].text().contains("a passkey was added"),
        "{}",
        mails[0].text()
    );
    let mail = &mails[1];

    let secured = app
        .device(CHROME_LINUX)
        .post(
            "/api/auth/secure-account",
            json!({"token": mail.secure_account_token()}),
        )
        .await;
    assert_eq!(secured.status(), StatusCode::OK);
    for (what, query) in [
        ("passkeys", "SELECT count(*) AS n FROM passkeys"),
        (
            "authenticator apps",
            "SELECT count(*) AS n FROM users WHERE totp_enabled_at IS NOT NULL",
        ),
        ("app secrets", "SELECT count(*) AS n FROM totp_factors"),
        (
            "recovery codes",
            "SELECT count(*) AS n FROM recovery_codes WHERE used_at IS NULL",
        ),
    ] {
        assert_eq!(app.count(query).await, 0, "{what} left");
    }
    let refused = app
        .device(FIREFOX_WINDOWS)
        .sign_in_with_passkey(&mut intruders)
        .await;
    assert_error(refused, StatusCode::BAD_REQUEST, "passkey_rejected").await;
    let logged = app
        .sql(
            "SELECT kind, detail FROM activity \
             WHERE kind IN ('passkey_removed', 'second_factor_disabled') ORDER BY id",
        )
        .await;
    assert_eq!(logged.len(), 2, "{logged:?}");
    assert_eq!(
        logged[0]["detail"],
        "Not mine (removed through \"this wasn't me\")"
    );
}
