//! An authenticator app: RFC 6238 codes computed from the secret the server handed out, at
//! the instance's (injectable) clock.

use api::config::Clock;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Device, TestApp};

pub struct Authenticator {
    totp: totp_rs::Totp,
}

impl Authenticator {
    /// From the base32 secret of `POST /api/me/totp`.
    pub fn from_base32(secret: &str) -> Self {
        let secret = totp_rs::Secret::try_from_base32(secret).expect("a base32 secret");
        let totp = totp_rs::Builder::new()
            .with_secret(secret)
            .build()
            .expect("a valid authenticator");
        Self { totp }
    }

    pub fn code_at(&self, at: DateTime<Utc>) -> String {
        self.totp
            .generate(u64::try_from(at.timestamp()).expect("after 1970"))
            .to_string()
    }
}

impl TestApp {
    /// The code the app shows now, by this instance's clock.
    pub fn code(&self, authenticator: &Authenticator) -> String {
        authenticator.code_at(self.clock.now())
    }

    /// Turns the authenticator app on for the account `device` is signed in to: its
    /// authenticator and the recovery codes. The clock then moves to the next time step,
    /// so that the next code is a new one (the one used to confirm is spent).
    pub async fn turn_on_totp(&self, device: &Device) -> (Authenticator, Vec<String>) {
        let response = device.post("/api/me/totp", json!({})).await;
        assert_eq!(response.status(), StatusCode::OK);
        let setup: Value = response.json().await.expect("json");
        let authenticator =
            Authenticator::from_base32(setup["secret"].as_str().expect("the secret"));
        let response = device
            .post(
                "/api/me/totp/confirm",
                json!({"code": self.code(&authenticator)}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("json");
        let codes = body["recovery_codes"]
            .as_array()
            .expect("recovery codes")
            .iter()
            .map(|code| code.as_str().expect("a code").to_owned())
            .collect();
        self.clock.advance(chrono::Duration::seconds(30));
        (authenticator, codes)
    }
}

/// Signs `device` in with the password, expecting the second-factor challenge: its id.
pub async fn password_then_challenge(device: &Device, email: &str) -> String {
    let response = device.login(email, super::PASSWORD).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["status"], "second_factor_required");
    body["challenge_id"]
        .as_str()
        .expect("challenge id")
        .to_owned()
}

/// Answers a challenge with a code.
pub async fn answer(device: &Device, challenge_id: &str, code: &str) -> reqwest::Response {
    device
        .post(
            "/api/auth/second-factor",
            json!({"challenge_id": challenge_id, "code": code}),
        )
        .await
}
