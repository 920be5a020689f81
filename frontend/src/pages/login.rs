use leptos::prelude::*;
use shared::LoginRequest;

use crate::api::{self, LoginOutcome};
use crate::app::{Screen, use_session};

/// Inline checks, before the server is asked.
pub fn email_problem(email: &str) -> Option<&'static str> {
    let email = email.trim();
    if email.is_empty() {
        Some("Enter your email address")
    } else if !email.contains('@')
        || email.starts_with('@')
        || email.ends_with('@')
        || !email.contains('.')
    {
        Some("This does not look like an email address")
    } else {
        None
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let session = use_session();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let submitted = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let email_error = move || {
        submitted
            .get()
            .then(|| email_problem(&email.get()))
            .flatten()
    };
    let password_error =
        move || (submitted.get() && password.get().is_empty()).then_some("Enter your password");

    let login = Action::new_local(|request: &LoginRequest| {
        let request = request.clone();
        async move { api::login(&request).await }
    });
    Effect::new(move |_| match login.value().get() {
        Some(Ok(LoginOutcome::LoggedIn(auth))) => session.signed_in(auth),
        Some(Ok(LoginOutcome::NeedsApproval(request))) => {
            session.screen.set(Screen::Waiting(request))
        }
        Some(Err(failure)) if failure.code == "session_limit" => error.set(Some(format!(
            "{}. Sign out on one of your devices (or revoke a session there) and try again.",
            failure.message
        ))),
        Some(Err(failure)) => error.set(Some(failure.message)),
        None => {}
    });
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        submitted.set(true);
        error.set(None);
        if email_problem(&email.get()).is_some() || password.get().is_empty() {
            return;
        }
        login.dispatch(LoginRequest {
            email: email.get().trim().to_owned(),
            password: password.get(),
        });
    };

    view! {
        <section class="card auth-card" aria-labelledby="login-title">
            <h1 id="login-title">"Sign in"</h1>
            {move || session.notice.get().map(|notice| view! {
                <p class="notice" id="signed-out-notice" role="status">{notice}</p>
            })}
            <form id="login-form" on:submit=on_submit novalidate>
                <label for="login-email">"Email"</label>
                <input id="login-email" type="email" autocomplete="username" bind:value=email
                    aria-invalid=move || email_error().is_some().to_string() aria-describedby="login-email-error"/>
                <p class="field-error" id="login-email-error">{email_error}</p>

                <label for="login-password">"Password"</label>
                <input id="login-password" type="password" autocomplete="current-password" bind:value=password
                    aria-invalid=move || password_error().is_some().to_string() aria-describedby="login-password-error"/>
                <p class="field-error" id="login-password-error">{password_error}</p>

                <button type="submit" class="primary" disabled=move || login.pending().get()>
                    {move || if login.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
                <p class="form-error" id="login-error" role="alert">{move || error.get()}</p>
            </form>
            <p class="switch">
                "New here? "
                <button type="button" class="link" id="to-signup" on:click=move |_| session.screen.set(Screen::Signup)>
                    "Create an account"
                </button>
            </p>
        </section>
    }
}
