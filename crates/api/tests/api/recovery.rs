//! The address as a second channel: confirming it through the mailed link, and recovering
//! the account through a reset link — followed from the mail the SMTP server received.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

const NEW_PASSWORD: &str = "a fresh and long passphrase";

async fn me(device: &Device) -> Value {
    device.me().await.json().await.unwrap()
}

#[tokio::test]
async fn signing_up_mails_a_link_that_confirms_the_address_once() {
    let (app, mailbox) = app_with_mailbox().await;
    let device = app.user_with_one_session().await;
    assert_eq!(me(&device).await["user"]["email_verified"], false);

    let mail = mail_with_subject(&mailbox, "Confirm your e-mail address").await;
    assert_eq!(mail.to, ["ada@example.com"]);
    let token = mail.link_token();
    assert_eq!(token.len(), 43, "256 random bits");
    // The link works on any device, signed in or not.
    let confirmed = app
        .device(FIREFOX_WINDOWS)
        .post("/api/auth/verify-email", json!({"token": token}))
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let user: Value = confirmed.json().await.unwrap();
    assert_eq!(user["email_verified"], true);
    assert_eq!(me(&device).await["user"]["email_verified"], true);

    assert_error(
        device
            .post("/api/auth/verify-email", json!({"token": token}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_link",
    )
    .await;
    // Only the token's hash is stored, and the sent mail no longer holds it.
    let stored = app
        .sql("SELECT payload::text AS payload FROM mail_outbox WHERE kind = 'verify_email'")
        .await;
    assert_eq!(stored[0]["payload"], "{}");
    let activity: Value = device.get("/api/activity").await.json().await.unwrap();
    assert_eq!(activity["items"][0]["kind"], "email_verified");
}

#[tokio::test]
async fn the_confirmation_can_be_mailed_again_a_few_times_an_hour() {
    let (app, mailbox) = app_with_mailbox().await;
    let device = app.user_with_one_session().await;
    for _ in 0..3 {
        let resent = device.post("/api/me/email-verification", json!({})).await;
        assert_eq!(resent.status(), StatusCode::ACCEPTED);
    }
    assert_error(
        device.post("/api/me/email-verification", json!({})).await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_mail_requests",
    )
    .await;
    let mails = mailbox.wait_for(4, Duration::from_secs(10)).await;
    // Any of the links confirms the address; after that there is nothing to resend.
    let confirmed = device
        .post(
            "/api/auth/verify-email",
            json!({"token": mails[1].link_token()}),
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    assert_error(
        device.post("/api/me/email-verification", json!({})).await,
        StatusCode::CONFLICT,
        "already_verified",
    )
    .await;
}

#[tokio::test]
async fn asking_for_a_link_says_it_is_on_its_way_only_when_mail_really_leaves() {
    let message = async |response: reqwest::Response| {
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let body: Value = response.json().await.unwrap();
        body["message"].as_str().unwrap_or_default().to_owned()
    };
    let reset = json!({"email": "ada@example.com"});

    // No SMTP_URL: the mail is written to the server's log, and the answer says so.
    let logged = spawn_app().await;
    let device = logged.user_with_one_session().await;
    let resent = message(device.post("/api/me/email-verification", json!({})).await).await;
    assert_eq!(
        resent,
        "Mail is not set up on this server; the link is in the server log."
    );
    let asked = message(device.post("/api/auth/password-reset", reset.clone()).await).await;
    assert!(
        asked.starts_with("Mail is not set up on this server."),
        "{asked}"
    );
    assert!(asked.contains("in the server log"), "{asked}");

    let (mailed, _mailbox) = app_with_mailbox().await;
    let device = mailed.user_with_one_session().await;
    let resent = message(device.post("/api/me/email-verification", json!({})).await).await;
    assert_eq!(resent, "A new link is on its way to ada@example.com.");
    let asked = message(device.post("/api/auth/password-reset", reset).await).await;
    assert!(asked.contains("is on its way"), "{asked}");
}

#[tokio::test]
async fn a_password_reset_ends_every_session_request_and_the_old_password() {
    let (app, mailbox) = app_with_mailbox().await;
    let first = verified_user(&app, &mailbox).await;
    let waiting = app
        .pending_approval("ada@example.com", FIREFOX_WINDOWS)
        .await;

    let stranger = app.device(SAFARI_IPHONE);
    let asked = stranger
        .post(
            "/api/auth/password-reset",
            json!({"email": "Ada@Example.com"}),
        )
        .await;
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    let mail = mail_with_subject(&mailbox, "Reset your password").await;
    assert!(mail.data.contains("/reset-password#token"), "{}", mail.data);
    let token = mail.link_token();

    assert_error(
        stranger
            .post(
                "/api/auth/password-reset/complete",
                json!({"token": token, "new_password": "password"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "weak_password",
    )
    .await;
    let reset = stranger
        .post(
            "/api/auth/password-reset/complete",
            json!({"token": token, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(reset.status(), StatusCode::OK);

    assert_error(
        first.me().await,
        StatusCode::UNAUTHORIZED,
        "invalid_session",
    )
    .await;
    let request = app
        .sql(&format!(
            "SELECT status FROM login_approvals WHERE id = '{}'",
            waiting.id
        ))
        .await;
    assert_eq!(request[0]["status"], "cancelled");
    assert_error(
        stranger.login("ada@example.com", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    assert_eq!(
        stranger
            .login("ada@example.com", NEW_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    let changed = mail_with_subject(&mailbox, "Your password was changed").await;
    assert!(changed.data.contains("Device: Safari"), "{}", changed.data);
    assert_error(
        stranger
            .post(
                "/api/auth/password-reset/complete",
                json!({"token": token, "new_password": "another long passphrase"}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_link",
    )
    .await;
}

#[tokio::test]
async fn a_reset_answers_alike_for_any_address_and_mails_every_account_confirmed_or_not() {
    let (app, mailbox) = app_with_mailbox().await;
    let _unconfirmed = app.user_with_one_session().await;
    mail_with_subject(&mailbox, "Confirm your e-mail address").await;
    let stranger = app.device(SAFARI_IPHONE);
    let mut bodies = Vec::new();
    for email in ["ada@example.com", "nobody@example.com"] {
        let asked = stranger
            .post("/api/auth/password-reset", json!({"email": email}))
            .await;
        assert_eq!(asked.status(), StatusCode::ACCEPTED);
        bodies.push(asked.text().await.unwrap());
    }
    assert_eq!(bodies[0], bodies[1]);
    // What is not an address at all is said so (that depends on the input alone).
    assert_error(
        stranger
            .post(
                "/api/auth/password-reset",
                json!({"email": "not an address"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    // The unconfirmed address gets its link (only its mailbox can use it); no one else.
    let reset = mail_with_subject(&mailbox, "Reset your password").await;
    assert_eq!(reset.to, ["ada@example.com"]);
    let resets = app
        .sql("SELECT recipient FROM mail_outbox WHERE kind = 'password_reset'")
        .await;
    assert_eq!(resets, vec![json!({"recipient": "ada@example.com"})]);
}

#[tokio::test]
async fn a_squatted_address_is_taken_back_through_a_mailed_link_that_confirms_it_and_ends_the_squatter()
 {
    let (app, mailbox) = app_with_mailbox().await;
    // Someone signs up with Ada's address; the confirmation link goes to Ada, who ignores it.
    let squatter = app.user_with_one_session().await;
    let generation_of = async || {
        app.sql("SELECT device_generation FROM users WHERE email = 'ada@example.com'")
            .await[0]["device_generation"]
            .as_i64()
            .unwrap()
    };
    let first_generation = generation_of().await;
    mail_with_subject(&mailbox, "Confirm your e-mail address").await;
    app.clock.advance(chrono::Duration::hours(25));
    assert_eq!(squatter.me().await.status(), StatusCode::UNAUTHORIZED);
    let squatter_again = squatter.login("ada@example.com", PASSWORD).await;
    assert_eq!(squatter_again.status(), StatusCode::OK);

    // Ada signs up: the same answer as for any taken address, and a mail to her mailbox.
    let ada = app.device(FIREFOX_WINDOWS);
    let refused = ada
        .post(
            "/api/auth/signup",
            json!({"email": "ada@example.com", "password": NEW_PASSWORD, "name": "Ada"}),
        )
        .await;
    let body = assert_error(refused, StatusCode::CONFLICT, "email_taken").await;
    assert!(ada.cookie_value("sm_session").is_none(), "not signed in");
    let claim = mail_with_subject(&mailbox, "Someone tried to sign up with your address").await;
    assert_eq!(claim.to, ["ada@example.com"]);
    assert!(
        claim.data.contains("/reset-password#token"),
        "{}",
        claim.data
    );
    // A confirmed address's holder answers alike.
    let _bob = app.signed_up("bob@example.com").await;
    app.execute("UPDATE users SET email_verified_at = now() WHERE email = 'bob@example.com'")
        .await;
    let taken = app
        .device(FIREFOX_WINDOWS)
        .post(
            "/api/auth/signup",
            json!({"email": "bob@example.com", "password": NEW_PASSWORD, "name": "Bob"}),
        )
        .await;
    assert_eq!(
        assert_error(taken, StatusCode::CONFLICT, "email_taken").await,
        body
    );

    // The link sets Ada's password, confirms the address and ends the squatter.
    let reset = ada
        .post(
            "/api/auth/password-reset/complete",
            json!({"token": claim.link_token(), "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(reset.status(), StatusCode::OK);
    let user: Value = reset.json().await.unwrap();
    assert_eq!(user["email_verified"], true);
    assert_error(
        squatter.me().await,
        StatusCode::UNAUTHORIZED,
        "invalid_session",
    )
    .await;
    assert_error(
        squatter.login("ada@example.com", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    // The squatter's browser is a stranger now: its device cookie is of the old generation.
    assert_ne!(generation_of().await, first_generation);
    assert_eq!(
        ada.login("ada@example.com", NEW_PASSWORD).await.status(),
        StatusCode::OK
    );
    let activity: Value = ada.get("/api/activity").await.json().await.unwrap();
    let kinds: Vec<&str> = activity["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"email_verified"), "{kinds:?}");
    assert!(kinds.contains(&"password_reset"), "{kinds:?}");
}

#[tokio::test]
async fn taking_a_squatted_address_back_removes_the_passkey_and_authenticator_app_the_squatter_set_up()
 {
    let (app, mailbox) = app_with_mailbox().await;
    // Someone signs up with Ada's address and sets up ways in that need no password, or
    // that would ask Ada for a code only they have.
    let squatter = app.user_with_one_session().await;
    let mut squatters_key = PasskeyAuthenticator::for_app(&app);
    squatter
        .added_passkey(&mut squatters_key, "Squatter's key")
        .await;
    let _squatters_app = app.turn_on_totp(&squatter).await;
    let moved = squatter
        .post(
            "/api/me/email",
            json!({"new_email": "squatter@example.com", "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(moved.status(), StatusCode::ACCEPTED);
    let move_link = mail_with_subject(&mailbox, "Confirm your new e-mail address").await;

    // Ada's signup is refused and mails her the link that takes the address back.
    let ada = app.device(FIREFOX_WINDOWS);
    let refused = ada
        .post(
            "/api/auth/signup",
            json!({"email": "ada@example.com", "password": NEW_PASSWORD, "name": "Ada"}),
        )
        .await;
    assert_error(refused, StatusCode::CONFLICT, "email_taken").await;
    let claim = mail_with_subject(&mailbox, "Someone tried to sign up with your address").await;
    let reset = ada
        .post(
            "/api/auth/password-reset/complete",
            json!({"token": claim.link_token(), "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(reset.status(), StatusCode::OK);
    let user: Value = reset.json().await.unwrap();
    assert_eq!(user["email_verified"], true);
    assert_eq!(user["totp_enabled"], false, "{user}");

    // The squatter's passkey signs in no more, nor does their move of the address happen.
    let elsewhere = app.device(CHROME_LINUX);
    assert_error(
        elsewhere.sign_in_with_passkey(&mut squatters_key).await,
        StatusCode::BAD_REQUEST,
        "passkey_rejected",
    )
    .await;
    let confirmed_move = elsewhere
        .post(
            "/api/auth/confirm-email-change",
            json!({"token": move_link.link_token()}),
        )
        .await;
    assert_error(confirmed_move, StatusCode::BAD_REQUEST, "invalid_link").await;
    // Ada signs in with her password alone, and her log says what went.
    let signed_in = ada.login("ada@example.com", NEW_PASSWORD).await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    assert_eq!(ada.activity_count("passkey_removed").await, 1);
    assert_eq!(ada.activity_count("second_factor_disabled").await, 1);
}

/// Asks from `device` for a reset of Ada's password: the mail that comes.
async fn reset_mail(device: &Device, mailbox: &Mailbox) -> Received {
    let asked = device
        .post(
            "/api/auth/password-reset",
            json!({"email": "ada@example.com"}),
        )
        .await;
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    mail_with_subject(mailbox, "Reset your password").await
}

#[tokio::test]
async fn a_new_password_ends_the_sign_ins_waiting_for_a_code_and_the_reset_links_asked_for_before()
{
    let (app, mailbox) = app_with_mailbox().await;
    let owner = verified_user(&app, &mailbox).await;
    let (authenticator, _) = app.turn_on_totp(&owner).await;
    // Someone with the password waits for the app's code; a reset link is on its way.
    let intruder = app.device(FIREFOX_WINDOWS);
    let challenge = password_then_challenge(&intruder, "ada@example.com").await;
    let reset_link = reset_mail(&intruder, &mailbox).await.link_token();

    let changed = owner
        .post(
            "/api/me/password",
            json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);

    // Neither the sign-in begun with the old password nor the older link gets in now.
    assert_error(
        answer(&intruder, &challenge, &app.code(&authenticator)).await,
        StatusCode::GONE,
        "challenge_expired",
    )
    .await;
    assert_error(
        intruder
            .post(
                "/api/auth/password-reset/complete",
                json!({"token": reset_link, "new_password": "a password of the intruder's"}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_link",
    )
    .await;
    assert_eq!(owner.me().await.status(), StatusCode::OK);
}

#[tokio::test]
async fn links_sent_to_an_old_address_stay_dead_when_the_account_moves_back_to_it() {
    let (app, mailbox) = app_with_mailbox().await;
    let owner = verified_user(&app, &mailbox).await;
    let reset_link = reset_mail(&app.device(FIREFOX_WINDOWS), &mailbox)
        .await
        .link_token();

    for (moves, address) in [(1, "ada@new.example"), (2, "ada@example.com")] {
        let moved = owner
            .post(
                "/api/me/email",
                json!({"new_email": address, "current_password": PASSWORD}),
            )
            .await;
        assert_eq!(moved.status(), StatusCode::ACCEPTED, "to {address}");
        let links = mailbox
            .wait_for_subject("Confirm your new e-mail address", moves)
            .await;
        let link = links.last().expect("the link").link_token();
        let confirmed = owner
            .post("/api/auth/confirm-email-change", json!({"token": link}))
            .await;
        assert_eq!(confirmed.status(), StatusCode::OK, "to {address}");
    }

    assert_error(
        app.device(SAFARI_IPHONE)
            .post(
                "/api/auth/password-reset/complete",
                json!({"token": reset_link, "new_password": NEW_PASSWORD}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_link",
    )
    .await;
}

#[tokio::test]
async fn whoever_holds_only_the_mailbox_cannot_turn_the_second_factor_off_with_this_wasnt_me() {
    let (app, mailbox) = app_with_mailbox().await;
    let owner = verified_user(&app, &mailbox).await;
    let mut owners_key = PasskeyAuthenticator::for_app(&app);
    owner.added_passkey(&mut owners_key, "Ada's key").await;
    let _owners_app = app.turn_on_totp(&owner).await;
    let earlier = mailbox
        .wait_for_subject("How your account signs in was changed", 2)
        .await;

    // Someone reads Ada's mail: a reset sets their password and mails "this wasn't me".
    let thief = app.device(FIREFOX_WINDOWS);
    let reset = reset_mail(&thief, &mailbox).await;
    let complete = async |token: Value| {
        thief
            .post(
                "/api/auth/password-reset/complete",
                json!({"token": token, "new_password": NEW_PASSWORD}),
            )
            .await
    };
    assert_eq!(
        complete(json!(reset.link_token())).await.status(),
        StatusCode::OK
    );
    // The links mailed before the new password died with it.
    assert_error(
        thief
            .post(
                "/api/auth/secure-account",
                json!({"token": earlier[0].secure_account_token()}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_link",
    )
    .await;
    let changed = mail_with_subject(&mailbox, "Your password was changed").await;
    let secured = thief
        .post(
            "/api/auth/secure-account",
            json!({"token": changed.secure_account_token()}),
        )
        .await;
    assert_eq!(secured.status(), StatusCode::OK);
    let secured: Value = secured.json().await.unwrap();
    let again = complete(secured["reset_token"].clone()).await;
    assert_eq!(again.status(), StatusCode::OK);
    let user: Value = again.json().await.unwrap();

    // The passkey and the app from before the mail stay: the password is not enough.
    assert_eq!(user["totp_enabled"], true, "{user}");
    assert_eq!(app.count("SELECT count(*) AS n FROM passkeys").await, 1);
    let login = thief.login("ada@example.com", NEW_PASSWORD).await;
    assert_eq!(login.status(), StatusCode::ACCEPTED);
    let login: Value = login.json().await.unwrap();
    assert_eq!(login["status"], "second_factor_required");
}

#[tokio::test]
async fn confirming_an_address_removes_the_ways_in_its_account_had_before() {
    let (app, mailbox) = app_with_mailbox().await;
    // Someone signs up with Ada's address and sets up a passkey and an authenticator app.
    let squatter = app.user_with_one_session().await;
    let mut squatters_key = PasskeyAuthenticator::for_app(&app);
    squatter
        .added_passkey(&mut squatters_key, "Squatter's key")
        .await;
    let _squatters_app = app.turn_on_totp(&squatter).await;
    // Ada opens the confirmation mail (or her mail filter opens the link).
    let confirm = mail_with_subject(&mailbox, "Confirm your e-mail address").await;
    let confirmed = app
        .device(FIREFOX_WINDOWS)
        .post(
            "/api/auth/verify-email",
            json!({"token": confirm.link_token()}),
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let user: Value = confirmed.json().await.unwrap();
    assert_eq!(user["email_verified"], true);
    assert_eq!(user["totp_enabled"], false, "{user}");

    assert_error(
        app.device(CHROME_LINUX)
            .sign_in_with_passkey(&mut squatters_key)
            .await,
        StatusCode::BAD_REQUEST,
        "passkey_rejected",
    )
    .await;
    assert_eq!(
        app.count("SELECT count(*) AS n FROM activity WHERE kind = 'passkey_removed'")
            .await,
        1
    );
}

#[tokio::test]
async fn an_older_confirmation_link_changes_nothing_once_the_address_is_confirmed() {
    let (app, mailbox) = app_with_mailbox().await;
    let device = app.user_with_one_session().await;
    let again = device.post("/api/me/email-verification", json!({})).await;
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    let links = mailbox
        .wait_for_subject("Confirm your e-mail address", 2)
        .await;
    let confirm = async |mail: &Received| {
        device
            .post(
                "/api/auth/verify-email",
                json!({"token": mail.link_token()}),
            )
            .await
    };
    assert_eq!(confirm(&links[1]).await.status(), StatusCode::OK);
    let _app_on = app.turn_on_totp(&device).await;

    assert_error(
        confirm(&links[0]).await,
        StatusCode::BAD_REQUEST,
        "invalid_link",
    )
    .await;
    let me: Value = device.me().await.json().await.unwrap();
    assert_eq!(me["user"]["totp_enabled"], true);
}

#[tokio::test]
async fn accounts_never_confirmed_nor_used_for_a_week_are_deleted_and_free_their_address() {
    let app = spawn_app_with(|settings| settings.throttle.signup_max_per_ip = 100).await;
    let squatter = app.signed_up("ada@example.com").await;
    // Traces of every kind the account leaves: a request in flight, mail, links, history.
    let _request = app
        .pending_approval("ada@example.com", FIREFOX_WINDOWS)
        .await;
    squatter.post("/api/me/email-verification", json!({})).await;
    let _confirmed = app.signed_up("bob@example.com").await;
    app.execute("UPDATE users SET email_verified_at = now() WHERE email = 'bob@example.com'")
        .await;
    let carol = app.signed_up("carol@example.com").await;
    let ada_id = app
        .sql("SELECT id FROM users WHERE email = 'ada@example.com'")
        .await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    app.clock.advance(chrono::Duration::days(6));
    app.sweep().await;
    assert_eq!(app.sql("SELECT id FROM users").await.len(), 3, "not yet");
    // Carol comes back: her account is in use.
    assert_eq!(
        carol.login("carol@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    app.clock.advance(chrono::Duration::days(2));
    app.sweep().await;

    let left = app.sql("SELECT email FROM users ORDER BY email").await;
    assert_eq!(
        left,
        vec![
            json!({"email": "bob@example.com"}),
            json!({"email": "carol@example.com"})
        ]
    );
    for table in [
        "sessions",
        "login_approvals",
        "activity",
        "sign_in_history",
        "mail_outbox",
        "email_links",
    ] {
        let rows = app
            .sql(&format!(
                "SELECT count(*) AS n FROM {table} WHERE user_id = '{ada_id}'"
            ))
            .await;
        assert_eq!(rows[0]["n"], 0, "{table} keeps rows of the deleted account");
    }
    // The address is free: its owner signs up.
    assert_eq!(
        app.device(SAFARI_IPHONE)
            .post(
                "/api/auth/signup",
                json!({"email": "ada@example.com", "password": NEW_PASSWORD, "name": "Ada"}),
            )
            .await
            .status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn a_reset_link_expires_after_thirty_minutes_and_dies_with_a_newer_use() {
    let (app, mailbox) = app_with_mailbox().await;
    let _device = verified_user(&app, &mailbox).await;
    let stranger = app.device(SAFARI_IPHONE);
    let ask = async || {
        let asked = stranger
            .post(
                "/api/auth/password-reset",
                json!({"email": "ada@example.com"}),
            )
            .await;
        assert_eq!(asked.status(), StatusCode::ACCEPTED);
    };
    ask().await;
    let old = mail_with_subject(&mailbox, "Reset your password")
        .await
        .link_token();
    app.clock.advance(chrono::Duration::minutes(31));
    let complete = async |token: &str| {
        stranger
            .post(
                "/api/auth/password-reset/complete",
                json!({"token": token, "new_password": NEW_PASSWORD}),
            )
            .await
    };
    assert_error(
        complete(&old).await,
        StatusCode::BAD_REQUEST,
        "invalid_link",
    )
    .await;

    ask().await;
    ask().await;
    let mails = mailbox.wait_for(4, Duration::from_secs(10)).await;
    let (second, third) = (mails[2].link_token(), mails[3].link_token());
    assert_eq!(complete(&third).await.status(), StatusCode::OK);
    assert_error(
        complete(&second).await,
        StatusCode::BAD_REQUEST,
        "invalid_link",
    )
    .await;
    // A fourth request within the hour is one too many for this address.
    assert_error(
        stranger
            .post(
                "/api/auth/password-reset",
                json!({"email": "ada@example.com"}),
            )
            .await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_mail_requests",
    )
    .await;
}

#[tokio::test]
async fn asking_for_a_reset_takes_as_long_for_a_confirmed_account_as_for_no_account() {
    // Mail goes to the log: a mail server would add work after some requests only.
    let app = spawn_app().await;
    let _owner = app.user_with_one_session().await;
    app.execute("UPDATE users SET email_verified_at = now()")
        .await;
    let stranger = app.device(SAFARI_IPHONE);
    let mut links = 0;
    let mut ask = async |email: &str| {
        // Past the hour the mail throttle counts, so that every request does the real work.
        app.clock.advance(chrono::Duration::minutes(61));
        let started = std::time::Instant::now();
        let asked = stranger
            .post("/api/auth/password-reset", json!({"email": email}))
            .await;
        let took = started.elapsed();
        assert_eq!(asked.status(), StatusCode::ACCEPTED);
        // What the server does after answering (the link, the mail worker sending it) is
        // over before the next request, or it would slow that one down.
        links += usize::from(email == "ada@example.com");
        let done = format!(
            "SELECT 1 AS done WHERE (SELECT count(*) FROM email_links \
             WHERE purpose = 'reset_password') = {links} \
             AND NOT EXISTS (SELECT 1 FROM mail_outbox WHERE sent_at IS NULL)"
        );
        while app.sql(&done).await.is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        took
    };
    // Warm up the connections and caches of both paths.
    for _ in 0..3 {
        ask("ada@example.com").await;
        ask("nobody@example.com").await;
    }
    // Up to three rounds: the other tests running beside this one can slow a whole stretch
    // of one round; a real difference between the paths shows in every round.
    let mut rounds = Vec::new();
    for _ in 0..3 {
        let (mut known, mut unknown) = (Vec::new(), Vec::new());
        // Interleaved, so that a slower stretch of the machine weighs on both alike.
        for _ in 0..30 {
            known.push(ask("ada@example.com").await);
            unknown.push(ask("nobody@example.com").await);
        }
        let (known, unknown) = (median(known), median(unknown));
        println!("median of 30: confirmed account {known:?}, no account {unknown:?}");
        let difference = known.abs_diff(unknown);
        if difference < Duration::from_millis(2) || difference < known.min(unknown) / 4 {
            return;
        }
        rounds.push((known, unknown));
    }
    panic!("the answer tells accounts apart in every round (confirmed, none): {rounds:?}");
}
