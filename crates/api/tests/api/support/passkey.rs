//! A software authenticator (webauthn-authenticator-rs' soft passkey) speaking the JSON of
//! the passkey endpoints, as a browser's `navigator.credentials` would.

use reqwest::StatusCode;
use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};

use super::{Device, TestApp};

/// One authenticator holding passkeys, at one origin (where the browser says it is).
pub struct PasskeyAuthenticator {
    inner: SoftPasskey,
    origin: Url,
    /// The credentials it made (base64url), offered at sign-in as a browser offers the
    /// discoverable credentials it holds for the site (the soft passkey only answers for
    /// credentials it is named).
    credential_ids: Vec<String>,
}

impl PasskeyAuthenticator {
    /// At the app's own origin (`PUBLIC_URL`).
    pub fn for_app(app: &TestApp) -> Self {
        Self::at_origin(&app.state.settings.server.public_url())
    }

    pub fn at_origin(origin: &str) -> Self {
        Self {
            // `true`: it claims user verification (a PIN or a fingerprint), which is required.
            inner: SoftPasskey::new(true),
            origin: Url::parse(origin).expect("an origin"),
            credential_ids: Vec::new(),
        }
    }

    /// The same passkeys, in a browser at another origin.
    pub fn move_to(&mut self, origin: &str) {
        self.origin = Url::parse(origin).expect("an origin");
    }

    /// `navigator.credentials.create(options)`, the credential as JSON.
    pub fn create(&mut self, mut options: Value) -> Value {
        let selection = &mut options["publicKey"]["authenticatorSelection"];
        assert_eq!(
            selection["residentKey"], "required",
            "a discoverable credential is asked for"
        );
        // The soft passkey keeps no resident keys (it refuses to make one); `get` offers
        // its credentials as a browser offers the discoverable ones it holds.
        selection["requireResidentKey"] = json!(false);
        selection["residentKey"] = json!("discouraged");
        let options: CreationChallengeResponse =
            serde_json::from_value(options).expect("creation options");
        let credential = self
            .inner
            .do_registration(self.origin.clone(), options)
            .expect("the authenticator makes a credential");
        let credential = serde_json::to_value(credential).expect("json");
        self.credential_ids
            .push(credential["id"].as_str().expect("an id").to_owned());
        credential
    }

    /// `navigator.credentials.get(options)` with the passkeys this authenticator holds.
    pub fn get(&mut self, options: Value) -> Value {
        assert_eq!(
            options["publicKey"]["allowCredentials"],
            json!([]),
            "a discoverable sign-in names no credential"
        );
        self.sign(options)
    }

    /// An assertion of this authenticator's own passkeys whatever `options` ask for (a
    /// browser answers only for the credentials listed; a hostile client need not).
    pub fn sign(&mut self, mut options: Value) -> Value {
        options["publicKey"]["allowCredentials"] = self
            .credential_ids
            .iter()
            .map(|id| json!({"type": "public-key", "id": id}))
            .collect();
        let options: RequestChallengeResponse =
            serde_json::from_value(options).expect("request options");
        let assertion = self
            .inner
            .do_authentication(self.origin.clone(), options)
            .expect("the authenticator signs");
        serde_json::to_value(assertion).expect("json")
    }
}

impl Device {
    /// Registers a passkey made by `authenticator` for this device's account: the answer of
    /// `register/finish`.
    pub async fn add_passkey(
        &self,
        authenticator: &mut PasskeyAuthenticator,
        name: &str,
    ) -> reqwest::Response {
        let started = self
            .post("/api/me/passkeys/register/start", json!({}))
            .await;
        assert_eq!(started.status(), StatusCode::OK);
        let started: Value = started.json().await.expect("json");
        let credential = authenticator.create(started["options"].clone());
        self.post(
            "/api/me/passkeys/register/finish",
            json!({"challenge_id": started["challenge_id"], "name": name, "credential": credential}),
        )
        .await
    }

    /// Registers a passkey, asserting it was added: its id.
    pub async fn added_passkey(
        &self,
        authenticator: &mut PasskeyAuthenticator,
        name: &str,
    ) -> String {
        let added = self.add_passkey(authenticator, name).await;
        assert_eq!(added.status(), StatusCode::CREATED);
        let added: Value = added.json().await.expect("json");
        added["id"].as_str().expect("an id").to_owned()
    }

    /// Starts a passkey sign-in: the challenge's id and the assertion `authenticator` makes.
    pub async fn passkey_assertion(&self, authenticator: &mut PasskeyAuthenticator) -> Value {
        let started = self.post("/api/auth/passkey/start", json!({})).await;
        assert_eq!(started.status(), StatusCode::OK);
        let started: Value = started.json().await.expect("json");
        let credential = authenticator.get(started["options"].clone());
        json!({"challenge_id": started["challenge_id"], "credential": credential})
    }

    /// Proves the user again with a passkey of `authenticator` (sudo mode): the answer of
    /// `reauthenticate/passkey/finish`.
    pub async fn reauthenticate_with_passkey(
        &self,
        authenticator: &mut PasskeyAuthenticator,
    ) -> reqwest::Response {
        let started = self
            .post("/api/auth/reauthenticate/passkey/start", json!({}))
            .await;
        assert_eq!(started.status(), StatusCode::OK);
        let started: Value = started.json().await.expect("json");
        let credential = authenticator.sign(started["options"].clone());
        self.post(
            "/api/auth/reauthenticate/passkey/finish",
            json!({"challenge_id": started["challenge_id"], "credential": credential}),
        )
        .await
    }

    /// Signs in with a passkey of `authenticator`: the answer of `passkey/finish`.
    pub async fn sign_in_with_passkey(
        &self,
        authenticator: &mut PasskeyAuthenticator,
    ) -> reqwest::Response {
        let body = self.passkey_assertion(authenticator).await;
        self.post("/api/auth/passkey/finish", body).await
    }
}
