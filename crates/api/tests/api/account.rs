use std::time::Instant;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn signup_logs_the_new_user_in_with_a_hardened_cookie_holding_only_a_reference() {
    let app = spawn_app().await;
    let device = app.device(CHROME_LINUX);
    let response = device
        .post(
            "/api/auth/signup",
            json!({"email": " Ada@Example.COM ", "password": PASSWORD, "name": " Ada "}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let cookie = set_cookie(&response, "sm_session").expect("a session cookie is set");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(
            cookie.contains(attribute),
            "{attribute} missing from {cookie}"
        );
    }
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["email"], "ada@example.com");
    assert_eq!(body["user"]["name"], "Ada");
    assert_eq!(body["session"]["current"], true);
    assert_eq!(body["session"]["browser"], "Chrome 120");
    assert_eq!(body["session"]["os"], "Linux");
    assert_eq!(body["session"]["device"], "Desktop");

    let me: Value = device.me().await.json().await.unwrap();
    assert_eq!(me["user"]["email"], "ada@example.com");

    // The database holds a 32-byte hash, and the cookie is not that hash.
    let rows = app
        .sql("SELECT encode(token_hash, 'hex') AS hash, user_agent, ip FROM sessions")
        .await;
    assert_eq!(rows.len(), 1);
    let hash = rows[0]["hash"].as_str().unwrap();
    assert_eq!(hash.len(), 64);
    assert!(!cookie.contains(hash));
    assert_eq!(rows[0]["user_agent"], CHROME_LINUX);
    assert_eq!(rows[0]["ip"], "127.0.0.1");
    // The password is stored as argon2id with the agreed parameters.
    let users = app.sql("SELECT password_hash FROM users").await;
    assert!(
        users[0]["password_hash"]
            .as_str()
            .unwrap()
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
    );
}

#[tokio::test]
async fn the_cookie_is_marked_secure_when_configured() {
    let app = spawn_app_with(|settings| settings.session.cookie_secure = true).await;
    let device = app.device(CHROME_LINUX);
    let response = device
        .post(
            "/api/auth/signup",
            json!({"email": "a@b.co", "password": PASSWORD, "name": "A"}),
        )
        .await;
    // A Secure session cookie also gets the __Host- prefix.
    let cookie = set_cookie(&response, "__Host-sm_session").expect("a session cookie");
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn an_email_can_sign_up_only_once_whatever_its_case() {
    let app = spawn_app().await;
    app.signed_up("ada@example.com").await;
    let again = app.device(FIREFOX_WINDOWS);
    let response = again
        .post(
            "/api/auth/signup",
            json!({"email": "ADA@example.com", "password": PASSWORD, "name": "Eve"}),
        )
        .await;
    assert_error(response, StatusCode::CONFLICT, "email_taken").await;
    assert_eq!(app.sql("SELECT id FROM users").await.len(), 1);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer_in_similar_time() {
    // Enough failed logins allowed for the samples (the throttle has tests of its own).
    let app = spawn_app_with(|settings| {
        settings.throttle.login_max_failures = 1000;
        settings.throttle.login_max_failures_per_ip = 1000;
    })
    .await;
    let owner = app.signed_up("ada@example.com").await;
    let stranger = app.device(FIREFOX_WINDOWS);
    let mut wrong_passwords = 0;
    let mut answer: Option<Value> = None;
    let mut time = async |email: &str| {
        let started = Instant::now();
        let response = stranger.login(email, "wrong password").await;
        let took = started.elapsed();
        let body = assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
        assert_eq!(body["error"], "Invalid email or password");
        // The same answer, word for word, whichever the email.
        assert_eq!(answer.get_or_insert_with(|| body.clone()), &body);
        wrong_passwords += usize::from(email == "ada@example.com");
        took
    };
    // Warm up both paths once.
    time("ada@example.com").await;
    time("nobody@example.com").await;
    // Both run one argon2id verification; without the dummy hash the unknown email would
    // answer many times faster. Medians of interleaved pairs, in up to three rounds: the
    // hashing threads run at low priority, so another test can stall a few samples of a
    // round; a real difference between the paths shows in every round.
    let mut rounds = Vec::new();
    for _ in 0..3 {
        let (mut known, mut unknown) = (Vec::new(), Vec::new());
        for _ in 0..11 {
            known.push(time("ada@example.com").await);
            unknown.push(time("nobody@example.com").await);
        }
        let (known, unknown) = (median(known), median(unknown));
        let ratio = unknown.as_secs_f64() / known.as_secs_f64();
        if ratio > 0.5 && ratio < 2.0 {
            break;
        }
        rounds.push((known, unknown));
    }
    assert!(
        rounds.len() < 3,
        "an unknown email answers in another time than a wrong password in every round \
         (medians: wrong password, unknown email): {rounds:?}"
    );

    // Failed logins of a real account are in its activity log.
    assert_eq!(owner.activity_count("login_failed").await, wrong_passwords);
}

#[tokio::test]
async fn every_login_gets_a_new_cookie_so_a_planted_one_is_never_promoted() {
    let app = spawn_app().await;
    let first = app.user_with_one_session().await;
    let old_cookie = first.cookie_header();
    assert_eq!(
        first.post("/api/auth/logout", json!({})).await.status(),
        StatusCode::NO_CONTENT
    );

    let response = first.login("ada@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let new_cookie = first.cookie_header();
    assert_ne!(old_cookie, new_cookie);

    // The old cookie, replayed, is dead.
    let replay = app.device(CHROME_LINUX);
    let response = replay
        .client
        .get(app.url("/api/auth/me"))
        .header("cookie", old_cookie)
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_session").await;
}

#[tokio::test]
async fn requests_without_a_cookie_or_with_a_tampered_one_are_refused() {
    let app = spawn_app().await;
    let device = app.signed_up("ada@example.com").await;
    let anonymous = app.device(CHROME_LINUX);
    assert_error(
        anonymous.me().await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;

    // Every position of the value, changed: never accepted, always "invalid session" (some
    // changes break the percent-encoding, and the cookie no longer even parses).
    let value = device.cookie_value("sm_session").expect("a session cookie");
    for position in 0..value.len() {
        let mut tampered: Vec<char> = value.chars().collect();
        tampered[position] = if tampered[position] == 'A' { 'B' } else { 'A' };
        let tampered: String = tampered.into_iter().collect();
        let response = anonymous
            .client
            .get(app.url("/api/auth/me"))
            .header("cookie", format!("other=1; sm_session={tampered}"))
            .send()
            .await
            .unwrap();
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_session").await;
    }
}

#[tokio::test]
async fn logout_ends_the_session_for_good() {
    let app = spawn_app().await;
    let device = app.signed_up("ada@example.com").await;
    let cookie = device.cookie_header();
    assert_eq!(
        device.post("/api/auth/logout", json!({})).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        device.me().await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    let response = app
        .device(CHROME_LINUX)
        .client
        .get(app.url("/api/auth/me"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_session").await;
    let rows = app.sql("SELECT end_reason FROM sessions").await;
    assert_eq!(rows[0]["end_reason"], "logout");
}

#[tokio::test]
async fn the_name_can_be_changed_and_is_validated() {
    let app = spawn_app().await;
    let device = app.signed_up("ada@example.com").await;
    let response = device
        .patch("/api/me", json!({"name": "  Ada Lovelace "}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["name"], "Ada Lovelace");
    assert_error(
        device.patch("/api/me", json!({"name": "   "})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_error(
        device
            .patch("/api/me", json!({"name": "x".repeat(101)}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    let me: Value = device.me().await.json().await.unwrap();
    assert_eq!(me["user"]["name"], "Ada Lovelace");
}

#[tokio::test]
async fn a_change_to_the_account_shows_in_the_next_check_of_each_of_its_sessions() {
    // The session check reads the copy of the user each session carries (kept by
    // triggers): whoever writes the user's row, the next request of every open session of
    // the account sees the change.
    let app = spawn_app().await;
    let (first, second) = app.user_with_two_sessions().await;
    let renamed = first.patch("/api/me", json!({"name": "Ada L."})).await;
    assert_eq!(renamed.status(), StatusCode::OK);
    let me: Value = second.me().await.json().await.unwrap();
    assert_eq!(me["user"]["name"], "Ada L.");
    assert_eq!(me["user"]["email_verified"], false);

    // A writer outside the API (an operator's SQL) is followed too.
    app.execute("UPDATE users SET email_verified_at = now(), name = 'Ada Lovelace'")
        .await;
    for device in [&first, &second] {
        let me: Value = device.me().await.json().await.unwrap();
        assert_eq!(me["user"]["name"], "Ada Lovelace");
        assert_eq!(me["user"]["email_verified"], true);
    }
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM sessions s JOIN users u ON u.id = s.user_id
              WHERE s.ended_at IS NULL AND s.user_name = u.name
                AND s.user_email_verified_at = u.email_verified_at"
        )
        .await,
        2
    );
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_every_other_session() {
    let app = spawn_app().await;
    let (first, second) = app.user_with_two_sessions().await;
    let cookie_before = first.cookie_header();

    let wrong = first
        .post(
            "/api/me/password",
            json!({"current_password": "not it at all", "new_password": "new password 1"}),
        )
        .await;
    assert_error(wrong, StatusCode::FORBIDDEN, "wrong_password").await;
    let short = first
        .post(
            "/api/me/password",
            json!({"current_password": PASSWORD, "new_password": "short"}),
        )
        .await;
    assert_error(short, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(second.me().await.status(), StatusCode::OK);

    let changed = first
        .post(
            "/api/me/password",
            json!({"current_password": PASSWORD, "new_password": "new password 1"}),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    // This device stays in, with a rotated cookie; the other is out.
    assert_eq!(first.me().await.status(), StatusCode::OK);
    assert_ne!(first.cookie_header(), cookie_before);
    assert_error(
        second.me().await,
        StatusCode::UNAUTHORIZED,
        "invalid_session",
    )
    .await;

    let third = app.device(SAFARI_IPHONE);
    assert_error(
        third.login("ada@example.com", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    // Right password now; one session is active, so this one needs approval.
    assert_eq!(
        third
            .login("ada@example.com", "new password 1")
            .await
            .status(),
        StatusCode::ACCEPTED
    );

    let history: Value = first
        .get("/api/sessions/history")
        .await
        .json()
        .await
        .unwrap();
    let reasons: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|item| item["end_reason"].as_str())
        .collect();
    assert_eq!(reasons, vec!["password_changed"]);
}

#[tokio::test]
async fn repeated_wrong_passwords_lock_the_account_out_for_a_while() {
    let app = spawn_app_with(|settings| {
        settings.throttle.login_max_failures = 3;
        settings.throttle.login_failure_window = std::time::Duration::from_secs(15 * 60);
    })
    .await;
    let owner = app.signed_up("ada@example.com").await;
    owner.post("/api/auth/logout", json!({})).await;
    let guesser = app.device(FIREFOX_WINDOWS);
    for _ in 0..3 {
        let response = guesser.login("ada@example.com", "a wrong guess").await;
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    // Even the right password is refused now, with a hint when to retry.
    let response = guesser.login("ada@example.com", PASSWORD).await;
    let retry_after = retry_after_secs(&response);
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    // Other accounts are not affected.
    let bob = app.signed_up("bob@example.com").await;
    bob.post("/api/auth/logout", json!({})).await;
    assert_eq!(
        guesser.login("bob@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    // Once the failures leave the window, the right password works again.
    app.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(
        guesser.login("ada@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn guesses_spread_over_many_accounts_lock_out_the_address() {
    let app = spawn_app_with(|settings| settings.throttle.login_max_failures_per_ip = 4).await;
    let owner = app.signed_up("ada@example.com").await;
    owner.post("/api/auth/logout", json!({})).await;
    let guesser = app.device(FIREFOX_WINDOWS);
    for i in 0..4 {
        let response = guesser
            .login(&format!("someone{i}@example.com"), "a guess")
            .await;
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    let response = guesser.login("ada@example.com", PASSWORD).await;
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    app.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(
        guesser.login("ada@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
}

/// `PASSWORD` hashed by the `argon2` crate 0.6, the engine before `argon2-rust`: what
/// every existing account stores.
const HASHED_BY_THE_PREVIOUS_ENGINE: &str = "$argon2id$v=19$m=19456,t=2,p=1$Ibu6Wy3ptuluqGOGcbDS+Q$ASGOBkGeT1Cgi7jxmlimLTUKcXw20Vu9jPpCsYIM9y4";

#[tokio::test]
async fn hashes_of_either_argon2_engine_verify_with_the_other_and_old_accounts_still_sign_in() {
    use api::model::passwords::{Engine, Verifier};
    let app = spawn_app().await;
    let device = app.signed_up("ada@example.com").await;
    // What the server stored now (argon2-rust) the previous engine verifies.
    let users = app.sql("SELECT password_hash FROM users").await;
    let stored = users[0]["password_hash"].as_str().unwrap().to_owned();
    assert!(Verifier::new(Engine::RustCrypto).verify(PASSWORD, &stored));
    assert!(!Verifier::new(Engine::RustCrypto).verify("not the password", &stored));
    // An account whose hash the previous engine made signs in as before.
    app.execute(&format!(
        "UPDATE users SET password_hash = '{HASHED_BY_THE_PREVIOUS_ENGINE}'"
    ))
    .await;
    app.execute("UPDATE sessions SET ended_at = now(), end_reason = 'revoked'")
        .await;
    let wrong = device.login("ada@example.com", "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let right = device.login("ada@example.com", PASSWORD).await;
    assert_eq!(right.status(), StatusCode::OK);
}
