use leptos::prelude::*;
use leptos_router::components::A;
use shared::{ErrorCode, LoginRequest, Secret};

use crate::api::{self, LoginOutcome};
use crate::format::device_rule;
use crate::pending;
use crate::return_to;
use crate::state::{page_title, use_session};
use crate::validation::{email_problem, login_password_problem};

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
            .then(|| email_problem(&email.get()))
            .flatten()
    };
    let password_error = move || {
        submitted
            .get()
            .then(|| login_password_problem(&password.get()))
            .flatten()
    };

    let login = Action::new_local(|request: &LoginRequest| {
        let request = request.clone();
        async move { api::login(&request).await }
    });
    Effect::new(move |_| match login.value().get() {
        Some(Ok(LoginOutcome::LoggedIn(auth))) => session.signed_in(auth),
        Some(Ok(LoginOutcome::NeedsApproval(request))) => {
            pending::save(&request);
            session.go(&format!("/approve/{}", request.approval_id));
        }
        Some(Ok(LoginOutcome::NeedsEmailCode(request))) => {
            pending::save_email_code(&request);
            session.go(&format!("/confirm-device/{}", request.approval_id));
        }
        Some(Err(failure)) if failure.code == ErrorCode::SessionLimit => error.set(Some(format!(
            "{}. Sign out on one of your devices (or revoke a session there) and try again.",
            failure.message
        ))),
        Some(Err(failure)) => error.set(Some(session.check(&failure))),
        None => {}
    });
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        submitted.set(true);
        error.set(None);
        if email_problem(&email.get()).is_some()
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
            <form id="login-form" on:submit=on_submit novalidate>
                <label for="login-email">"Email"</label>
                <input id="login-email" type="email" autocomplete="username" bind:value=email
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
            <p class="switch">
                <A href="/forgot-password" attr:id="to-forgot-password">"Forgot your password?"</A>
            </p>
            <p class="switch">
                "New here? "
                <A href="/signup" attr:id="to-signup">"Create an account"</A>
            </p>
        </section>
    }
}
