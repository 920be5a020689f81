//! `navigator.credentials` for passkeys. The server sends webauthn-rs' options as JSON with
//! binary values in base64url; the browser wants `ArrayBuffer`s. The credential it makes
//! goes back as the JSON webauthn-rs reads (binary values in base64url again). Both
//! conversions live here, once; `api.rs` makes the HTTP calls.
//!
//! In the production build (`split`, scripts/build-frontend) everything past `supported`,
//! `autofill_available` and `is_abort` is a wasm module of its own (`passkeys`), fetched at
//! the first passkey call: the sign-in page's first module does not carry the conversions,
//! serde_json's `Value` and the passkey calls (22 KB, 6 KB with brotli). A split function cannot be
//! async, so each call crosses into the module as a boxed future.

use std::future::Future;
use std::pin::Pin;

use js_sys::{Array, Function, JSON, Object, Promise, Reflect, Uint8Array};
use serde_json::Value;
use shared::{
    Passkey, PasskeyChallenge, PasskeyReauthenticationRequest, PasskeySignInRequest,
    RegisterPasskeyRequest, SessionInfo,
};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, CredentialCreationOptions, CredentialRequestOptions};

use crate::api::{self, ApiError, ApiResult, LoginOutcome};

/// Whether this browser has WebAuthn at all.
pub fn supported() -> bool {
    web_sys::window()
        .and_then(|window| Reflect::get(&window, &"PublicKeyCredential".into()).ok())
        .is_some_and(|value| !value.is_undefined())
}

/// Whether the browser offers passkeys in the e-mail field's autofill (conditional
/// mediation).
pub async fn autofill_available() -> bool {
    let Some(check) = web_sys::window()
        .and_then(|window| Reflect::get(&window, &"PublicKeyCredential".into()).ok())
        .and_then(|class| Reflect::get(&class, &"isConditionalMediationAvailable".into()).ok())
        .and_then(|check| check.dyn_into::<Function>().ok())
    else {
        return false;
    };
    let Ok(promise) = check.call0(&JsValue::NULL) else {
        return false;
    };
    JsFuture::from(Promise::resolve(&promise))
        .await
        .is_ok_and(|available| available.is_truthy())
}

/// A call running in the `passkeys` module.
type Call<T> = Pin<Box<dyn Future<Output = ApiResult<T>>>>;

/// The `passkeys` module could not be fetched: most likely a newer deployment replaced it
/// while this tab was open (the server itself may answer), so a reload, not an outage.
#[cfg(feature = "split")]
impl From<leptos::wasm_split::SplitLoaderError> for ApiError {
    fn from(_: leptos::wasm_split::SplitLoaderError) -> Self {
        ApiError::local("The passkey part of this page could not be loaded: reload the page")
    }
}

/// Signs in with a passkey (`navigator.credentials.get`): the answer of `passkey/finish`.
/// With `autofill`, the request waits for the user to pick a passkey in the e-mail field's
/// suggestions (conditional mediation) until `autofill` aborts it.
pub async fn sign_in(
    keep_signed_in: bool,
    autofill: Option<AbortSignal>,
) -> ApiResult<LoginOutcome> {
    fetched!(begin_sign_in(keep_signed_in, autofill))?.await
}

/// Sudo mode with one of the account's passkeys: the session as it now stands.
pub async fn reauthenticate() -> ApiResult<SessionInfo> {
    fetched!(begin_reauthentication())?.await
}

/// Asks the server for options, the browser for a passkey, and the server to keep it under
/// `name`.
pub async fn register(name: String) -> ApiResult<Passkey> {
    fetched!(begin_registration(name))?.await
}

#[cfg_attr(
    feature = "split",
    leptos::wasm_split::wasm_split(passkeys, fallible, wasm_split_path = ::leptos::wasm_split)
)]
fn begin_sign_in(
    keep_signed_in: bool,
    autofill: Option<AbortSignal>,
) -> ApiResult<Call<LoginOutcome>> {
    Ok(Box::pin(signing_in(keep_signed_in, autofill)))
}

#[cfg_attr(
    feature = "split",
    leptos::wasm_split::wasm_split(passkeys, fallible, wasm_split_path = ::leptos::wasm_split)
)]
fn begin_reauthentication() -> ApiResult<Call<SessionInfo>> {
    Ok(Box::pin(reauthenticating()))
}

#[cfg_attr(
    feature = "split",
    leptos::wasm_split::wasm_split(passkeys, fallible, wasm_split_path = ::leptos::wasm_split)
)]
fn begin_registration(name: String) -> ApiResult<Call<Passkey>> {
    Ok(Box::pin(registering(name)))
}

async fn registering(name: String) -> ApiResult<Passkey> {
    let challenge = api::start_passkey_registration().await?;
    let credential = create(&challenge.options).await?;
    api::finish_passkey_registration(&RegisterPasskeyRequest {
        challenge_id: challenge.challenge_id,
        name,
        credential,
    })
    .await
}

/// Makes a passkey for the registration `options` (`navigator.credentials.create`): the
/// credential as JSON for `register/finish`.
async fn create(options: &Value) -> ApiResult<Value> {
    let options = browser_options(options)?;
    if let Ok(user) = Reflect::get(&public_key(&options)?, &"user".into()) {
        to_buffer(&user, "id")?;
    }
    let credentials = credentials()?;
    let promise = credentials
        .create_with_options(options.unchecked_ref::<CredentialCreationOptions>())
        .map_err(refusal)?;
    let credential = JsFuture::from(promise).await.map_err(refusal)?;
    credential_json(&credential, &["attestationObject", "clientDataJSON"])
}

async fn signing_in(
    keep_signed_in: bool,
    autofill: Option<AbortSignal>,
) -> ApiResult<LoginOutcome> {
    let PasskeyChallenge {
        challenge_id,
        options,
    } = api::start_passkey_sign_in().await?;
    let options = browser_options(&options)?;
    if let Some(signal) = &autofill {
        set(&options, "mediation", &"conditional".into())?;
        set(&options, "signal", signal)?;
    }
    let credential = assertion(&options).await?;
    api::finish_passkey_sign_in(&PasskeySignInRequest {
        challenge_id,
        credential,
        keep_signed_in,
    })
    .await
}

async fn reauthenticating() -> ApiResult<SessionInfo> {
    let PasskeyChallenge {
        challenge_id,
        options,
    } = api::start_passkey_reauthentication().await?;
    let credential = assertion(&browser_options(&options)?).await?;
    api::finish_passkey_reauthentication(&PasskeyReauthenticationRequest {
        challenge_id,
        credential,
    })
    .await
}

/// `navigator.credentials.get` with `options`: the assertion as JSON for the server.
async fn assertion(options: &Object) -> ApiResult<Value> {
    let credentials = credentials()?;
    let promise = credentials
        .get_with_options(options.unchecked_ref::<CredentialRequestOptions>())
        .map_err(refusal)?;
    let credential = JsFuture::from(promise).await.map_err(refusal)?;
    credential_json(
        &credential,
        &[
            "authenticatorData",
            "clientDataJSON",
            "signature",
            "userHandle",
        ],
    )
}

/// Whether an error is the browser's abort of a request this page withdrew (no message).
pub fn is_abort(error: &ApiError) -> bool {
    error.message == ABORTED
}

const ABORTED: &str = "AbortError";

fn credentials() -> ApiResult<web_sys::CredentialsContainer> {
    web_sys::window()
        .map(|window| window.navigator().credentials())
        .ok_or_else(|| ApiError::local("This browser cannot use passkeys"))
}

/// The server's options as a JS object, every binary value an `ArrayBuffer`.
fn browser_options(options: &Value) -> ApiResult<Object> {
    let object: Object = JSON::parse(&options.to_string())
        .map_err(|_| ApiError::local("The server's passkey options are not JSON"))?
        .unchecked_into();
    let key = public_key(&object)?;
    to_buffer(&key, "challenge")?;
    for list in ["excludeCredentials", "allowCredentials"] {
        if let Ok(list) = Reflect::get(&key, &list.into())
            && let Ok(list) = list.dyn_into::<Array>()
        {
            for descriptor in list.iter() {
                to_buffer(&descriptor, "id")?;
            }
        }
    }
    Ok(object)
}

fn public_key(options: &Object) -> ApiResult<JsValue> {
    Reflect::get(options, &"publicKey".into())
        .ok()
        .filter(|key| key.is_object())
        .ok_or_else(|| ApiError::local("The server's passkey options have no publicKey"))
}

/// `object[field]`, a base64url string, becomes an `ArrayBuffer`.
fn to_buffer(object: &JsValue, field: &str) -> ApiResult<()> {
    let Some(text) = Reflect::get(object, &field.into())
        .ok()
        .and_then(|value| value.as_string())
    else {
        return Ok(());
    };
    let bytes = base64url_decode(&text)
        .ok_or_else(|| ApiError::local("The server's passkey options are not base64url"))?;
    set(object, field, &Uint8Array::from(bytes.as_slice()).buffer())
}

fn set(object: &JsValue, field: &str, value: &JsValue) -> ApiResult<()> {
    Reflect::set(object, &field.into(), value)
        .map(|_| ())
        .map_err(|_| ApiError::local("Could not prepare the passkey request"))
}

/// A `PublicKeyCredential` as webauthn-rs reads it: `id`, `rawId`, `type`, and the
/// response's `fields` (binary, base64url; a missing or null one is null).
fn credential_json(credential: &JsValue, fields: &[&str]) -> ApiResult<Value> {
    let response = Reflect::get(credential, &"response".into())
        .map_err(|_| ApiError::local("The browser made no passkey"))?;
    let mut answer = serde_json::Map::new();
    for field in fields {
        answer.insert((*field).to_owned(), buffer_json(&response, field));
    }
    Ok(serde_json::json!({
        "id": Reflect::get(credential, &"id".into()).ok().and_then(|id| id.as_string()),
        "rawId": buffer_json(credential, "rawId"),
        "type": "public-key",
        "response": answer,
    }))
}

fn buffer_json(object: &JsValue, field: &str) -> Value {
    Reflect::get(object, &field.into())
        .ok()
        .filter(|value| !value.is_null() && !value.is_undefined())
        .map_or(Value::Null, |buffer| {
            Value::String(base64url_encode(&Uint8Array::new(&buffer).to_vec()))
        })
}

/// A refusal by the browser, for people: the user cancelled, or no passkey was there.
fn refusal(error: JsValue) -> ApiError {
    let name = Reflect::get(&error, &"name".into())
        .ok()
        .and_then(|name| name.as_string())
        .unwrap_or_default();
    ApiError::local(match name.as_str() {
        "AbortError" => ABORTED,
        "NotAllowedError" => "The passkey request was cancelled or timed out",
        "InvalidStateError" => "This passkey is registered with your account already",
        "SecurityError" => {
            "Passkeys do not work at this address (PUBLIC_URL must be where this page is)"
        }
        _ => "The browser could not use a passkey",
    })
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64url without padding.
pub fn base64url_encode(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let triple = chunk.iter().enumerate().fold(0u32, |acc, (i, byte)| {
            acc | (u32::from(*byte) << (16 - 8 * i))
        });
        for i in 0..=chunk.len() {
            let sextet = (triple >> (18 - 6 * i)) & 63;
            if let Some(c) = usize::try_from(sextet).ok().and_then(|s| ALPHABET.get(s)) {
                text.push(char::from(*c));
            }
        }
    }
    text
}

/// Base64url, padded or not (standard base64's `+` and `/` too); `None` if it is not.
pub fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let mut bytes = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0u32;
    for c in text.trim_end_matches('=').bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push(u8::try_from((buffer >> bits) & 0xff).ok()?);
        }
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trips_every_length() {
        let data: Vec<u8> = (0..=255).collect();
        for len in 0..40 {
            let slice = &data[..len];
            let text = base64url_encode(slice);
            assert!(!text.contains(['=', '+', '/']));
            assert_eq!(base64url_decode(&text).unwrap(), slice);
        }
        assert_eq!(base64url_encode(b"\xfb\xff"), "-_8");
        assert_eq!(base64url_decode("-_8=").unwrap(), b"\xfb\xff");
        assert_eq!(base64url_decode("a b"), None);
    }
}
