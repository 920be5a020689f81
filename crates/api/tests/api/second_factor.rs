//! The second factor: the authenticator app (codes computed from the secret it was given)
//! and recovery codes, at sign-in.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

const EMAIL: &str = "ada@example.com";

#[tokio::test]
async fn with_the_authenticator_app_on_a_sign_in_needs_its_code_after_the_password() {
    let app = spawn_app().await;
    let first = app.user_with_one_session().await;
    let (authenticator, recovery_codes) = app.turn_on_totp(&first).await;
    assert_eq!(recovery_codes.len(), 10);
    let me: Value = first.me().await.json().await.unwrap();
    assert_eq!(me["user"]["totp_enabled"], true);
    assert_eq!(me["user"]["password_only"], false);
    assert_eq!(
        first.post("/api/auth/logout", json!({})).await.status(),
        204
    );

    let response = first.login(EMAIL, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "second_factor_required");
    assert_eq!(body["methods"], json!(["totp", "recovery_code"]));
    // No cookie yet: the password alone signs nobody in.
    assert_eq!(first.me().await.status(), StatusCode::UNAUTHORIZED);

    let challenge = body["challenge_id"].as_str().unwrap();
    let response = answer(&first, challenge, &app.code(&authenticator)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["session"]["proof_method"], "totp");
    assert_eq!(first.me().await.status(), StatusCode::OK);
    // The challenge was used up.
    let again = answer(&first, challenge, &app.code(&authenticator)).await;
    assert_error(again, StatusCode::GONE, "challenge_expired").await;
}

#[tokio::test]
async fn an_authenticator_code_is_accepted_once() {
    let app = spawn_app_with(|settings| {
        settings.session.limit_policy = api::config::LimitPolicy::Refuse;
        settings.session.max_sessions = 5;
    })
    .await;
    let first = app.user_with_one_session().await;
    let (authenticator, _) = app.turn_on_totp(&first).await;
    let code = app.code(&authenticator);

    let second = app.device(FIREFOX_WINDOWS);
    let challenge = password_then_challenge(&second, EMAIL).await;
    assert_eq!(
        answer(&second, &challenge, &code).await.status(),
        StatusCode::OK
    );

    // The same code again, on another device, within its 30 seconds: refused.
    let third = app.device(SAFARI_IPHONE);
    let challenge = password_then_challenge(&third, EMAIL).await;
    assert_error(
        answer(&third, &challenge, &code).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_code",
    )
    .await;
    // The next step's code is a new one.
    app.clock.advance(chrono::Duration::seconds(30));
    let next = answer(&third, &challenge, &app.code(&authenticator)).await;
    assert_eq!(next.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_recovery_code_signs_in_once_and_a_new_set_replaces_the_old() {
    let app = spawn_app().await;
    let first = app.user_with_one_session().await;
    let (_, recovery_codes) = app.turn_on_totp(&first).await;
    assert_eq!(
        first.post("/api/auth/logout", json!({})).await.status(),
        204
    );

    let challenge = password_then_challenge(&first, EMAIL).await;
    // Typed in capitals with spaces: still the code.
    let typed = recovery_codes[0].to_uppercase().replace('-', " ");
    let response = answer(&first, &challenge, &typed).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["session"]["proof_method"], "recovery_code");
    let status: Value = first.get("/api/me/totp").await.json().await.unwrap();
    assert_eq!(status["recovery_codes_left"], 9);
    assert_eq!(
        first.post("/api/auth/logout", json!({})).await.status(),
        204
    );

    let challenge = password_then_challenge(&first, EMAIL).await;
    assert_error(
        answer(&first, &challenge, &recovery_codes[0]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_code",
    )
    .await;
    let response = answer(&first, &challenge, &recovery_codes[1]).await;
    assert_eq!(response.status(), StatusCode::OK);

    // A new set: the old codes die.
    let response = first.post("/api/me/recovery-codes", json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["recovery_codes"].as_array().unwrap().len(), 10);
    assert_eq!(
        first.post("/api/auth/logout", json!({})).await.status(),
        204
    );
    let challenge = password_then_challenge(&first, EMAIL).await;
    assert_error(
        answer(&first, &challenge, &recovery_codes[2]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_code",
    )
    .await;
    let fresh = body["recovery_codes"][0].as_str().unwrap();
    assert_eq!(
        answer(&first, &challenge, fresh).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn wrong_codes_count_against_the_accounts_login_throttle() {
    let app = spawn_app_with(|settings| settings.throttle.login_max_failures = 3).await;
    let first = app.user_with_one_session().await;
    let (authenticator, _) = app.turn_on_totp(&first).await;
    assert_eq!(
        first.post("/api/auth/logout", json!({})).await.status(),
        204
    );

    let challenge = password_then_challenge(&first, EMAIL).await;
    for wrong in ["000000", "abcde-fghjk", "111111"] {
        let wrong = if app.code(&authenticator) == wrong {
            "222222"
        } else {
            wrong
        };
        assert_error(
            answer(&first, &challenge, wrong).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_code",
        )
        .await;
    }
    // The account's slots are full: the right code waits, and so does the password.
    assert_error(
        answer(&first, &challenge, &app.code(&authenticator)).await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
    )
    .await;
    assert_error(
        app.device(FIREFOX_WINDOWS).login(EMAIL, PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
    )
    .await;
    // A right password does not forget the wrong codes (they belong to the account).
    let rejected = app
        .count("SELECT count(*) AS n FROM activity WHERE kind = 'second_factor_rejected'")
        .await;
    assert_eq!(rejected, 3);
}

#[tokio::test]
async fn a_challenge_started_on_one_instance_is_finished_on_the_other() {
    let pair = spawn_two_instances().await;
    let first = pair.a.user_with_one_session().await;
    let (authenticator, _) = pair.a.turn_on_totp(&first).await;
    // Both instances share the test's clock offset only through their own clocks.
    pair.b.clock.advance(chrono::Duration::seconds(30));
    assert_eq!(
        first.post("/api/auth/logout", json!({})).await.status(),
        204
    );

    let challenge = password_then_challenge(&first, EMAIL).await;
    let on_b = first.via(&pair.b);
    let response = answer(&on_b, &challenge, &pair.b.code(&authenticator)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(on_b.me().await.status(), StatusCode::OK);
    assert_eq!(first.me().await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_challenge_expires_after_five_minutes() {
    let app = spawn_app().await;
    let first = app.user_with_one_session().await;
    let (authenticator, _) = app.turn_on_totp(&first).await;
    assert_eq!(
        first.post("/api/auth/logout", json!({})).await.status(),
        204
    );
    let challenge = password_then_challenge(&first, EMAIL).await;
    app.clock.advance(chrono::Duration::minutes(5));
    assert_error(
        answer(&first, &challenge, &app.code(&authenticator)).await,
        StatusCode::GONE,
        "challenge_expired",
    )
    .await;
    assert_error(
        answer(&first, "00000000-0000-0000-0000-000000000000", "123456").await,
        StatusCode::GONE,
        "challenge_expired",
    )
    .await;
}

#[tokio::test]
async fn an_account_with_the_app_needs_no_mailed_code_and_still_asks_a_signed_in_device() {
    let app = spawn_app_with(|settings| settings.mail.new_device_email_check = Some(true)).await;
    let first = app.user_with_one_session().await;
    app.execute("UPDATE users SET email_verified_at = now()")
        .await;
    let (authenticator, _) = app.turn_on_totp(&first).await;

    // A browser never seen: the code of the app, not one mailed, and then the usual
    // decision: a device is signed in, so it must approve.
    let second = app.device(FIREFOX_WINDOWS);
    let challenge = password_then_challenge(&second, EMAIL).await;
    let response = answer(&second, &challenge, &app.code(&authenticator)).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "approval_required");
    let id = body["approval_id"].as_str().unwrap();
    let approved = first
        .post(
            &format!("/api/approvals/{id}/approve"),
            json!({"code": body["code"]}),
        )
        .await;
    assert_eq!(approved.status(), StatusCode::OK);
    let completed = second
        .post(
            &format!("/api/login/approvals/{id}/complete"),
            json!({"pending_token": body["pending_token"]}),
        )
        .await;
    assert_eq!(completed.status(), StatusCode::OK);
    let body: Value = completed.json().await.unwrap();
    assert_eq!(body["session"]["proof_method"], "totp");
    assert_eq!(
        app.count("SELECT count(*) AS n FROM login_approvals WHERE channel = 'email'")
            .await,
        0
    );
}

#[tokio::test]
async fn turning_the_app_off_signs_in_with_the_password_alone_again() {
    let app = spawn_app().await;
    let first = app.user_with_one_session().await;
    app.turn_on_totp(&first).await;
    assert_error(
        first.post("/api/me/totp", json!({})).await,
        StatusCode::CONFLICT,
        "second_factor_enabled",
    )
    .await;
    assert_eq!(first.delete("/api/me/totp").await.status(), 204);
    assert_error(
        first.delete("/api/me/totp").await,
        StatusCode::CONFLICT,
        "second_factor_not_enabled",
    )
    .await;
    assert_eq!(
        app.count("SELECT count(*) AS n FROM recovery_codes").await,
        0
    );
    assert_eq!(
        first.post("/api/auth/logout", json!({})).await.status(),
        204
    );
    assert_eq!(first.login(EMAIL, PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_wrong_code_does_not_turn_the_app_on() {
    let app = spawn_app().await;
    let first = app.user_with_one_session().await;
    assert_error(
        first
            .post("/api/me/totp/confirm", json!({"code": "123456"}))
            .await,
        StatusCode::CONFLICT,
        "second_factor_not_enabled",
    )
    .await;
    let setup: Value = first
        .post("/api/me/totp", json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert!(setup["qr_svg"].as_str().unwrap().starts_with("<svg"));
    assert!(
        setup["otpauth_url"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    let authenticator = Authenticator::from_base32(setup["secret"].as_str().unwrap());
    let right = app.code(&authenticator);
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert_error(
        first
            .post("/api/me/totp/confirm", json!({"code": wrong}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_code",
    )
    .await;
    let me: Value = first.me().await.json().await.unwrap();
    assert_eq!(me["user"]["totp_enabled"], false);
}

#[tokio::test]
async fn a_challenge_offers_a_passkey_when_the_account_has_one_and_a_passkey_sign_in_replaces_it() {
    let app = spawn_app().await;
    let first = app.user_with_one_session().await;
    app.turn_on_totp(&first).await;
    let mut authenticator = PasskeyAuthenticator::for_app(&app);
    first.added_passkey(&mut authenticator, "Laptop").await;
    assert_eq!(
        first.post("/api/auth/logout", json!({})).await.status(),
        204
    );

    let response = first.login(EMAIL, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["methods"], json!(["totp", "recovery_code", "passkey"]));
    let signed_in = first.sign_in_with_passkey(&mut authenticator).await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    let body: Value = signed_in.json().await.unwrap();
    assert_eq!(body["session"]["proof_method"], "passkey");
}

#[tokio::test]
async fn turning_the_app_on_and_off_is_mailed_to_the_owner_with_a_this_wasnt_me_link() {
    let (app, mailbox) = app_with_mailbox().await;
    let first = verified_user(&app, &mailbox).await;
    app.turn_on_totp(&first).await;
    let on = mail_with_subject(&mailbox, "How your account signs in was changed").await;
    assert!(
        on.text().contains("the authenticator app was turned on"),
        "{}",
        on.text()
    );
    on.secure_account_token();
    assert_eq!(first.delete("/api/me/totp").await.status(), 204);
    let mails = mailbox
        .wait_for_subject("How your account signs in was changed", 2)
        .await;
    assert!(
        mails
            .iter()
            .any(|mail| mail.text().contains("the authenticator app was turned off")),
        "{mails:?}"
    );
}

#[tokio::test]
async fn the_sweeper_removes_challenges_past_their_five_minutes() {
    let app = spawn_app().await;
    let first = app.user_with_one_session().await;
    app.turn_on_totp(&first).await;
    let second = app.device(FIREFOX_WINDOWS);
    password_then_challenge(&second, EMAIL).await;
    app.clock.advance(chrono::Duration::minutes(4));
    let fresh = password_then_challenge(&second, EMAIL).await;
    app.clock.advance(chrono::Duration::minutes(2));
    app.sweep().await;
    let left = app
        .sql("SELECT id::text AS id FROM second_factor_challenges")
        .await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["id"], fresh.as_str());
}
