use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::{ErrorCode, LoginRequest, ProofMethod, SecondFactorRequired, Secret};

use crate::api::{self, ApiResult, LoginOutcome};
use crate::format::device_rule;
use crate::passkey;
use crate::pending;
use crate::return_to;
use crate::state::{page_title, use_session};
use crate::validation::{login_password_problem, sign_in_email_problem};

#[component]
pub fn LoginPage() -> impl IntoView {
    let session = use_session();
    page_title("Sign in");
    return_to::remember_from_location();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let keep_signed_in = RwSignal::new(false);
    let submitted = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let email_error = move || {
        submitted
            .get()
            .then(|| sign_in_email_problem(&email.get()))
            .flatten()
    };
    let password_error = move || {
        submitted
            .get()
            .then(|| login_password_problem(&password.get()))
            .flatten()
    };

    // Set once the password was right and the account asks for its second factor.
    let challenge = RwSignal::new(None::<SecondFactorRequired>);
    let code = RwSignal::new(String::new());

    let login = Action::new_local(|request: &LoginRequest| {
        let request = request.clone();
        async move { api::login(&request).await }
    });
    let answer = Action::new_local(|(challenge_id, code): &(uuid::Uuid, String)| {
        let (challenge_id, code) = (*challenge_id, code.clone());
        async move { api::answer_second_factor(challenge_id, code).await }
    });
    // Whatever signed in (a password, its second factor or a passkey), the same next step.
    let settle = move |result: ApiResult<LoginOutcome>| match result {
        Ok(LoginOutcome::LoggedIn(auth)) => session.signed_in(auth),
        Ok(LoginOutcome::NeedsSecondFactor(next)) => {
            code.set(String::new());
            challenge.set(Some(next));
        }
        Ok(LoginOutcome::NeedsApproval(request)) => {
            pending::save(&request);
            session.go(&format!("/approve/{}", request.approval_id));
        }
        Ok(LoginOutcome::NeedsEmailCode(request)) => {
            pending::save_email_code(&request);
            session.go(&format!("/confirm-device/{}", request.approval_id));
        }
        Err(failure) if passkey::is_abort(&failure) => {}
        Err(failure) if failure.code == ErrorCode::SessionLimit => error.set(Some(format!(
            "{}. Sign out on one of your devices (or revoke a session there) and try again.",
            failure.message
        ))),
        Err(failure) if failure.code == ErrorCode::ChallengeExpired => {
            challenge.set(None);
            error.set(Some(format!("{}.", failure.message.trim_end_matches('.'))));
        }
        Err(failure) => error.set(Some(session.check(&failure))),
    };
    Effect::new(move |_| {
        if let Some(result) = login.value().get() {
            settle(result);
        }
    });
    Effect::new(move |_| {
        if let Some(result) = answer.value().get() {
            settle(result);
        }
    });
    let on_code = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        error.set(None);
        if let Some(challenge) = challenge.get_untracked() {
            answer.dispatch((
                challenge.challenge_id,
                code.get_untracked().trim().to_owned(),
            ));
        }
    };

    // Passkeys: offered in the e-mail field's autofill when the browser can (conditional
    // mediation, waiting from page load), and behind a button.
    let autofill = StoredValue::new_local(None::<web_sys::AbortController>);
    let stop_autofill = move || {
        if let Some(controller) = autofill.try_update_value(Option::take).flatten() {
            controller.abort();
        }
    };
    on_cleanup(stop_autofill);
    if passkey::supported() {
        spawn_local(async move {
            if !passkey::autofill_available().await {
                return;
            }
            let Ok(controller) = web_sys::AbortController::new() else {
                return;
            };
            let signal = controller.signal();
            autofill.set_value(Some(controller));
            match passkey::sign_in(keep_signed_in.get_untracked(), Some(signal)).await {
                // Nobody asked for this one yet: a refusal to begin it (a busy address), passkey
                // code that could not be fetched, or the browser's own refusal (an address
                // that is not PUBLIC_URL's, a timeout) stays silent; the button still works
                // (and says so). Said here, it would also push the page's links down under a
                // pointer about to click them.
                Err(failure)
                    if failure.code == ErrorCode::TooManyAttempts || failure.is_local() => {}
                result => settle(result),
            }
        });
    }
    let passkey_pending = RwSignal::new(false);
    let with_passkey = move |_| {
        stop_autofill();
        error.set(None);
        passkey_pending.set(true);
        spawn_local(async move {
            let result = passkey::sign_in(keep_signed_in.get_untracked(), None).await;
            passkey_pending.set(false);
            settle(result);
        });
    };
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        submitted.set(true);
        error.set(None);
        if sign_in_email_problem(&email.get()).is_some()
            || login_password_problem(&password.get()).is_some()
        {
            return;
        }
        login.dispatch(LoginRequest {
            email: email.get().trim().to_owned(),
            password: Secret::new(password.get()),
            keep_signed_in: keep_signed_in.get(),
        });
    };

    view! {
        <section class="card auth-card" aria-labelledby="login-title">
            <h1 id="login-title">"Sign in"</h1>
            {move || session.notice.get().map(|notice| view! {
                <p class="notice" id="signed-out-notice" role="status">{notice}</p>
            })}
            {move || {
                let limit = session.max_sessions()?;
                session.policy().map(|policy| view! {
                    <p class="hint" id="policy-hint">{device_rule(policy, limit)}</p>
                })
            }}
            {move || challenge.get().map(|challenge| {
                let recovery = challenge.methods.contains(&ProofMethod::RecoveryCode);
                let passkey = challenge.methods.contains(&ProofMethod::Passkey)
                    && passkey::supported();
                view! {
                    <form id="second-factor-form" on:submit=on_code novalidate>
                        <p class="hint">
                            "Enter the 6-digit code of your authenticator app"
                            {recovery.then_some(", or one of your recovery codes")}
                            "."
                        </p>
                        {passkey.then(|| view! {
                            <p class="hint" id="second-factor-passkey-hint">
                                "Or sign in with one of your passkeys instead (the button below)."
                            </p>
                        })}
                        <label for="second-factor-code">"Code"</label>
                        <input id="second-factor-code" type="text" inputmode="text"
                            autocomplete="one-time-code" bind:value=code/>
                        <button type="submit" class="primary" id="second-factor-submit"
                            disabled=move || answer.pending().get()>
                            {move || if answer.pending().get() { "Checking…" } else { "Continue" }}
                        </button>
                        <p class="form-error" id="second-factor-error" role="alert">{move || error.get()}</p>
                    </form>
                }
            })}
            <form id="login-form" on:submit=on_submit novalidate
                hidden=move || challenge.get().is_some()>
                <label for="login-email">"Email"</label>
                <input id="login-email" type="email" autocomplete="username webauthn" bind:value=email
                    aria-invalid=move || email_error().is_some().to_string() aria-describedby="login-email-error"/>
                <p class="field-error" id="login-email-error">{email_error}</p>

                <label for="login-password">"Password"</label>
                <input id="login-password" type="password" autocomplete="current-password" bind:value=password
                    aria-invalid=move || password_error().is_some().to_string() aria-describedby="login-password-error"/>
                <p class="field-error" id="login-password-error">{password_error}</p>

                <label class="check" for="keep-signed-in">
                    <input id="keep-signed-in" type="checkbox" bind:checked=keep_signed_in/>
                    "Keep me signed in on this device"
                </label>

                <button type="submit" class="primary" disabled=move || login.pending().get()>
                    {move || if login.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
                <p class="form-error" id="login-error" role="alert">{move || error.get()}</p>
            </form>
            {passkey::supported().then(|| view! {
                <button type="button" class="secondary" id="passkey-sign-in" on:click=with_passkey
                    disabled=move || passkey_pending.get()>
                    {move || if passkey_pending.get() { "Waiting for the passkey…" } else { "Sign in with a passkey" }}
                </button>
            })}
            <p class="switch">
                <a href="/forgot-password" id="to-forgot-password">"Forgot your password?"</a>
            </p>
            <p class="switch">
                "New here? "
                <a href="/signup" id="to-signup">"Create an account"</a>
            </p>
        </section>
    }
}
