//! The mailbox as the second channel when no device can approve: an unrecognised device
//! signs in only with the code mailed to the confirmed address, and the "this wasn't me"
//! link of security mail ends everything and leads to a new password. Followed from the
//! mail the tests' SMTP server received.

use api::config::LimitPolicy;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

const CODE_MAIL: &str = "Your sign-in code";
const NEW_PASSWORD: &str = "a fresh and long passphrase";

/// A login that must be confirmed with a mailed code: its body.
async fn asks_for_a_mailed_code(device: &Device) -> Value {
    let response = device.login("ada@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert!(
        set_cookie(&response, "sm_session").is_none(),
        "no session before the code"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "email_confirmation_required", "{body}");
    body
}

async fn type_code(device: &Device, request: &Value, code: &str) -> reqwest::Response {
    device
        .post(
            &format!(
                "/api/login/approvals/{}/email-code",
                request["approval_id"].as_str().unwrap()
            ),
            json!({"pending_token": request["pending_token"], "code": code}),
        )
        .await
}

/// The code mails received so far, once `count` arrived.
async fn code_mails(mailbox: &Mailbox, count: usize) -> Vec<Received> {
    mailbox.wait_for_subject(CODE_MAIL, count).await
}

fn another_code(code: &str) -> String {
    let first = code.chars().next().and_then(|c| c.to_digit(10)).unwrap();
    format!("{}{}", (first + 1) % 10, &code[1..])
}

/// Sign-in requests whose code was mailed, of any outcome.
async fn mailed_requests(app: &TestApp) -> i64 {
    let rows = app
        .sql("SELECT count(*) AS n FROM login_approvals WHERE channel = 'email'")
        .await;
    rows[0]["n"].as_i64().unwrap()
}

/// A confirmed account with no session left (its device signed out).
async fn signed_out_owner(app: &TestApp, mailbox: &Mailbox) -> Device {
    let owner = verified_user(app, mailbox).await;
    let out = owner.post("/api/auth/logout", json!({})).await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    owner
}

#[tokio::test]
async fn an_unrecognised_device_with_no_device_signed_in_signs_in_with_the_code_mailed_to_the_account()
 {
    let (app, mailbox) = app_with_mailbox().await;
    let owner = signed_out_owner(&app, &mailbox).await;

    let laptop = app.device(FIREFOX_WINDOWS);
    let request = asks_for_a_mailed_code(&laptop).await;
    assert_eq!(request["sent_to"], "a***@example.com");
    assert_eq!(request["max_attempts"], 5);
    assert!(
        request.get("code").is_none(),
        "the code is in the mail only"
    );
    assert_error(
        laptop.me().await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;

    let mail = code_mails(&mailbox, 1).await.pop().unwrap();
    assert_eq!(mail.to, ["ada@example.com"]);
    assert!(mail.data.contains("Device: Firefox"), "{}", mail.data);
    let code = mail.code();
    assert!(code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()));
    assert!(mail.text().contains("This wasn't me: "));
    // The code waits in the outbox only until it is sent.
    app.deliver_mail().await;
    let stored = app
        .sql("SELECT payload::text AS payload FROM mail_outbox WHERE kind = 'sign_in_code'")
        .await;
    assert_eq!(stored[0]["payload"], "{}");

    let wrong = assert_error(
        type_code(&laptop, &request, &another_code(&code)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "wrong_code",
    )
    .await;
    assert_eq!(wrong["error"], "Wrong code, 4 tries left");
    let signed_in = type_code(&laptop, &request, &code).await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    assert!(set_cookie(&signed_in, "sm_device").is_some());
    assert_eq!(laptop.me().await.status(), StatusCode::OK);
    // Once.
    assert_error(
        type_code(&laptop, &request, &code).await,
        StatusCode::GONE,
        "approval_used",
    )
    .await;

    // The log says how the device got in.
    let activity: Value = laptop.get("/api/activity").await.json().await.unwrap();
    let kinds: Vec<&str> = activity["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["kind"].as_str().unwrap())
        .collect();
    for kind in ["email_code_sent", "email_code_rejected", "login"] {
        assert!(kinds.contains(&kind), "{kinds:?}");
    }
    let login = activity["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["kind"] == "login")
        .unwrap();
    assert_eq!(
        login["detail"], "confirmed with a code mailed to the account",
        "{login}"
    );

    // From now on the laptop is a device the account knows: no code.
    assert_eq!(
        laptop.post("/api/auth/logout", json!({})).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        laptop.login("ada@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    drop(owner);
}

#[tokio::test]
async fn with_the_password_but_not_the_mailbox_an_attacker_gets_no_session_and_the_owner_recovers()
{
    let (app, mailbox) = app_with_mailbox().await;
    let owner = signed_out_owner(&app, &mailbox).await;

    // The attacker knows the password; the owner is signed in nowhere.
    let attacker = app.device(SAFARI_IPHONE);
    let first = asks_for_a_mailed_code(&attacker).await;
    let mailed = code_mails(&mailbox, 1).await.pop().unwrap().code();
    let guess = another_code(&mailed);
    for tries_left in (1..=4).rev() {
        let wrong = assert_error(
            type_code(&attacker, &first, &guess).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong_code",
        )
        .await;
        assert_eq!(
            wrong["error"],
            format!("Wrong code, {}", shared::rules::tries_left(tries_left))
        );
    }
    assert_error(
        type_code(&attacker, &first, &guess).await,
        StatusCode::GONE,
        "approval_locked",
    )
    .await;
    // Locked: not even the right code opens it now.
    assert_error(
        type_code(&attacker, &first, &mailed).await,
        StatusCode::GONE,
        "approval_locked",
    )
    .await;

    // Five codes a day, then the account is mailed no more.
    let mut requests = Vec::new();
    for _ in 0..4 {
        requests.push(asks_for_a_mailed_code(&attacker).await);
    }
    let refused = assert_error(
        attacker.login("ada@example.com", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_sign_in_codes",
    )
    .await;
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("reset your password")
    );
    assert_eq!(app.active_sessions_in_db().await, 0);
    mailbox
        .wait_for_subject("Someone used your password and was refused", 1)
        .await;

    // The owner follows "this wasn't me" from a code mail, on a phone that never signed in.
    let mails = code_mails(&mailbox, 5).await;
    app.deliver_mail().await;
    let phone = app.device(CHROME_LINUX);
    let secured = phone
        .post(
            "/api/auth/secure-account",
            json!({"token": mails[4].secure_account_token()}),
        )
        .await;
    assert_eq!(secured.status(), StatusCode::OK);
    let secured: Value = secured.json().await.unwrap();
    assert_eq!(secured["requests_cancelled"], 4, "{secured}");
    assert_eq!(secured["sessions_ended"], 0);
    let reset = phone
        .post(
            "/api/auth/password-reset/complete",
            json!({"token": secured["reset_token"], "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(reset.status(), StatusCode::OK);

    // Every code the attacker waits on is dead, and so is the old password.
    let last = mails[4].code();
    assert_error(
        type_code(&attacker, &requests[3], &last).await,
        StatusCode::GONE,
        "approval_cancelled",
    )
    .await;
    assert_error(
        attacker.login("ada@example.com", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    // The phone proved the mailbox: it signs in without a code. Every browser known
    // before is a stranger again, the owner's own computer too: it asks the mailbox.
    assert_eq!(
        phone.login("ada@example.com", NEW_PASSWORD).await.status(),
        StatusCode::OK
    );
    phone.post("/api/auth/logout", json!({})).await;
    let response = owner.login("ada@example.com", NEW_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let request: Value = response.json().await.unwrap();
    assert_eq!(request["status"], "email_confirmation_required");
    let code = code_mails(&mailbox, 6).await.pop().unwrap().code();
    assert_eq!(
        type_code(&owner, &request, &code).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_mailed_code_expires_after_ten_minutes() {
    let (app, mailbox) = app_with_mailbox().await;
    let _owner = signed_out_owner(&app, &mailbox).await;
    let laptop = app.device(FIREFOX_WINDOWS);
    let request = asks_for_a_mailed_code(&laptop).await;
    let code = code_mails(&mailbox, 1).await.pop().unwrap().code();
    app.clock.advance(chrono::Duration::minutes(11));
    assert_error(
        type_code(&laptop, &request, &code).await,
        StatusCode::GONE,
        "approval_expired",
    )
    .await;
    assert_eq!(app.active_sessions_in_db().await, 0);
}

#[tokio::test]
async fn a_recognised_device_and_an_unconfirmed_address_sign_in_without_a_code() {
    let (app, mailbox) = app_with_mailbox().await;
    // Signed up and out on this device: it carries the account's device cookie.
    let owner = signed_out_owner(&app, &mailbox).await;
    assert_eq!(
        owner.login("ada@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );

    // An account whose address was never confirmed has no second channel.
    let other = app.signed_up("bob@example.com").await;
    other.post("/api/auth/logout", json!({})).await;
    assert_eq!(
        app.device(FIREFOX_WINDOWS)
            .login("bob@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    // A device cookie is an account's: Ada's device is a stranger to Bob's account and
    // the other way round (and the check only follows confirmed addresses).
    assert_eq!(mailed_requests(&app).await, 0);
}

#[tokio::test]
async fn with_the_check_turned_off_an_unrecognised_device_signs_in_as_before() {
    let (app, mailbox) =
        app_with_mailbox_and(|settings| settings.mail.new_device_email_check = Some(false)).await;
    let _owner = signed_out_owner(&app, &mailbox).await;
    assert_eq!(
        app.device(FIREFOX_WINDOWS)
            .login("ada@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn with_a_device_signed_in_that_device_approves_and_no_code_is_mailed() {
    let (app, mailbox) = app_with_mailbox().await;
    let _owner = verified_user(&app, &mailbox).await;
    let response = app
        .device(FIREFOX_WINDOWS)
        .login("ada@example.com", PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "approval_required");
    assert!(body["code"].is_string());
    assert_eq!(mailed_requests(&app).await, 0);
}

#[tokio::test]
async fn a_device_that_signs_in_meanwhile_is_the_one_to_approve_the_mailed_device() {
    let (app, mailbox) = app_with_mailbox().await;
    let owner = signed_out_owner(&app, &mailbox).await;
    let laptop = app.device(FIREFOX_WINDOWS);
    let request = asks_for_a_mailed_code(&laptop).await;
    let code = code_mails(&mailbox, 1).await.pop().unwrap().code();

    // The owner's own computer signs in (known device, no session active).
    assert_eq!(
        owner.login("ada@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    // The mailed code still proves the mailbox, but now a device can approve: it must.
    let now_asks = type_code(&laptop, &request, &code).await;
    assert_eq!(now_asks.status(), StatusCode::ACCEPTED);
    let approval: Value = now_asks.json().await.unwrap();
    assert_eq!(approval["status"], "approval_required", "{approval}");
    let id = approval["approval_id"].as_str().unwrap();
    let approved = owner
        .post(
            &format!("/api/approvals/{id}/approve"),
            json!({"code": approval["code"]}),
        )
        .await;
    assert_eq!(approved.status(), StatusCode::OK);
    let completed = laptop
        .post(
            &format!("/api/login/approvals/{id}/complete"),
            json!({"pending_token": approval["pending_token"]}),
        )
        .await;
    assert_eq!(completed.status(), StatusCode::OK);
    assert_eq!(app.active_sessions_in_db().await, 2);
}

#[tokio::test]
async fn policies_that_never_ask_a_device_ask_the_mailbox_of_an_unrecognised_one() {
    let (app, mailbox) = app_with_mailbox_and(|settings| {
        settings.session.limit_policy = LimitPolicy::Refuse;
        settings.session.max_sessions = 3;
    })
    .await;
    let owner = verified_user(&app, &mailbox).await;
    let mut owner_socket = owner.session_socket().await;
    let laptop = app.device(FIREFOX_WINDOWS);
    let request = asks_for_a_mailed_code(&laptop).await;
    // The signed-in device is not prompted (it could not approve under `refuse`).
    let pending: Value = owner.get("/api/approvals").await.json().await.unwrap();
    assert_eq!(pending["approvals"], json!([]));
    let code = code_mails(&mailbox, 1).await.pop().unwrap().code();
    assert_eq!(
        type_code(&laptop, &request, &code).await.status(),
        StatusCode::OK
    );
    assert_eq!(app.active_sessions_in_db().await, 2);
    // The owner's device hears of the new session, not of a request it never saw.
    loop {
        match next_server_message(&mut owner_socket).await {
            shared::ws::ServerMessage::ApprovalResolved { .. } => {
                panic!("a mailed request is not the devices' business")
            }
            shared::ws::ServerMessage::SecurityAlert { alert } => {
                assert_eq!(alert.kind, "new_device");
                break;
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_password_reset_cancels_the_codes_in_flight() {
    let (app, mailbox) = app_with_mailbox().await;
    let _owner = signed_out_owner(&app, &mailbox).await;
    let laptop = app.device(FIREFOX_WINDOWS);
    let request = asks_for_a_mailed_code(&laptop).await;
    let code = code_mails(&mailbox, 1).await.pop().unwrap().code();
    let asked = app
        .device(CHROME_LINUX)
        .post(
            "/api/auth/password-reset",
            json!({"email": "ada@example.com"}),
        )
        .await;
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    let token = mail_with_subject(&mailbox, "Reset your password")
        .await
        .link_token();
    let reset = app
        .device(CHROME_LINUX)
        .post(
            "/api/auth/password-reset/complete",
            json!({"token": token, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(reset.status(), StatusCode::OK);
    assert_error(
        type_code(&laptop, &request, &code).await,
        StatusCode::GONE,
        "approval_cancelled",
    )
    .await;
}

#[tokio::test]
async fn this_wasnt_me_in_a_new_sign_in_mail_ends_every_session_and_request_and_leads_to_a_new_password()
 {
    let (app, mailbox) = app_with_mailbox_and(|settings| settings.session.max_sessions = 3).await;
    let owner = verified_user(&app, &mailbox).await;
    let intruder = app
        .second_device(&owner, "ada@example.com", FIREFOX_WINDOWS)
        .await;
    let waiting = app.pending_approval("ada@example.com", SAFARI_IPHONE).await;
    let alert = mail_with_subject(&mailbox, "New sign-in to your account").await;
    assert!(alert.data.contains("Device: Firefox"), "{}", alert.data);
    let token = alert.secure_account_token();
    assert_eq!(token.len(), 43, "256 random bits");
    app.deliver_mail().await;

    // Opened anywhere, signed in or not.
    let anywhere = app.device(CHROME_LINUX);
    let secured = anywhere
        .post("/api/auth/secure-account", json!({"token": token}))
        .await;
    assert_eq!(secured.status(), StatusCode::OK);
    let secured: Value = secured.json().await.unwrap();
    assert_eq!(secured["sessions_ended"], 2, "{secured}");
    assert_eq!(secured["requests_cancelled"], 1);
    let message = secured["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(
            "Every device was signed out (2 sessions) and 1 sign-in request was cancelled."
        ),
        "{message}"
    );
    for device in [&owner, &intruder] {
        assert_error(
            device.me().await,
            StatusCode::UNAUTHORIZED,
            "invalid_session",
        )
        .await;
    }
    let reasons = app.sql("SELECT DISTINCT end_reason FROM sessions").await;
    assert_eq!(reasons, [json!({"end_reason": "account_secured"})]);
    assert_error(
        waiting.complete().await,
        StatusCode::GONE,
        "approval_cancelled",
    )
    .await;
    // Once.
    assert_error(
        anywhere
            .post("/api/auth/secure-account", json!({"token": token}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_link",
    )
    .await;

    // It leads into recovery: the token it answered sets the new password, once.
    let reset = anywhere
        .post(
            "/api/auth/password-reset/complete",
            json!({"token": secured["reset_token"], "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(reset.status(), StatusCode::OK);
    assert_error(
        intruder.login("ada@example.com", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    // The intruder's browser, approved once, is recognised no more: even with the new
    // password it would need the code mailed to the owner.
    let response = intruder.login("ada@example.com", NEW_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "email_confirmation_required");
    let activity = app
        .sql("SELECT kind FROM activity WHERE kind IN ('account_secured', 'password_reset') ORDER BY id")
        .await;
    assert_eq!(
        activity,
        [
            json!({"kind": "account_secured"}),
            json!({"kind": "password_reset"})
        ]
    );
}

#[tokio::test]
async fn security_mail_to_an_unconfirmed_address_offers_no_this_wasnt_me_link() {
    let (app, mailbox) = app_with_mailbox().await;
    let device = app.user_with_one_session().await;
    let changed = device
        .post(
            "/api/me/password",
            json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let mail = mail_with_subject(&mailbox, "Your password was changed").await;
    assert!(!mail.text().contains("secure-account"), "{}", mail.data);
    // The links are minted as the mail is claimed for sending, and none was.
    app.deliver_mail().await;
    let links = app
        .sql("SELECT count(*) AS n FROM email_links WHERE purpose = 'secure_account'")
        .await;
    assert_eq!(links[0]["n"], 0);
}
