//! The pages a mailed link leads to, and the one that asks for a reset link.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api;
use crate::state::use_session;
use crate::validation::{email_problem, new_password_problem, password_hint};

/// The token of the link this page was opened with (`#token=…`: the fragment reaches no
/// server and no `Referer`).
fn token_from_link() -> Option<String> {
    let hash = window().location().hash().ok()?;
    let token = hash.strip_prefix("#token=")?;
    (!token.is_empty()).then(|| token.to_owned())
}

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let submitted = RwSignal::new(false);
    let sent = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let email_error = move || {
        submitted
            .get()
            .then(|| email_problem(&email.get()))
            .flatten()
    };
    let ask = Action::new_local(|email: &String| {
        let email = email.clone();
        async move { api::request_password_reset(email).await }
    });
    Effect::new(move |_| match ask.value().get() {
        Some(Ok(queued)) => sent.set(Some(queued.message)),
        Some(Err(failure)) => error.set(Some(failure.message)),
        None => {}
    });
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        submitted.set(true);
        error.set(None);
        if email_problem(&email.get()).is_none() {
            ask.dispatch(email.get().trim().to_owned());
        }
    };

    view! {
        <section class="card auth-card" aria-labelledby="forgot-title">
            <h1 id="forgot-title">"Reset your password"</h1>
            {move || match sent.get() {
                Some(message) => view! {
                    <p class="notice" id="reset-requested" role="status">{message}</p>
                }.into_any(),
                None => view! {
                    <p class="hint">"We mail a link to your confirmed address. It works once, for 30 minutes, and signs out every device."</p>
                    <form id="forgot-form" on:submit=on_submit novalidate>
                        <label for="forgot-email">"Email"</label>
                        <input id="forgot-email" type="email" autocomplete="username" bind:value=email
                            aria-invalid=move || email_error().is_some().to_string() aria-describedby="forgot-email-error"/>
                        <p class="field-error" id="forgot-email-error">{email_error}</p>
                        <button type="submit" class="primary" disabled=move || ask.pending().get()>
                            {move || if ask.pending().get() { "Sending…" } else { "Mail me a link" }}
                        </button>
                        <p class="form-error" id="forgot-error" role="alert">{move || error.get()}</p>
                    </form>
                }.into_any(),
            }}
            <p class="switch"><A href="/login" attr:id="forgot-to-login">"Back to sign in"</A></p>
        </section>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let session = use_session();
    let token = token_from_link();
    let password = RwSignal::new(String::new());
    let submitted = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let password_error = move || {
        submitted
            .get()
            .then(|| new_password_problem(&password.get()))
            .flatten()
    };
    let reset = Action::new_local(|(token, password): &(String, String)| {
        let (token, password) = (token.clone(), password.clone());
        async move { api::complete_password_reset(token, password).await }
    });
    Effect::new(move |_| {
        match reset.value().get() {
        Some(Ok(_)) => session.signed_out_saying(
            "Your password was changed and every device was signed out. Sign in with the new password.".to_owned(),
        ),
        Some(Err(failure)) => error.set(Some(failure.message)),
        None => {}
    }
    });
    let has_token = token.is_some();
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        submitted.set(true);
        error.set(None);
        if let (Some(token), None) = (token.clone(), new_password_problem(&password.get())) {
            reset.dispatch((token, password.get()));
        }
    };

    view! {
        <section class="card auth-card" aria-labelledby="reset-title">
            <h1 id="reset-title">"Choose a new password"</h1>
            {if has_token {
                view! {
                    <form id="reset-form" on:submit=on_submit novalidate>
                        <label for="reset-password">"New password"</label>
                        <input id="reset-password" type="password" autocomplete="new-password" bind:value=password
                            aria-invalid=move || password_error().is_some().to_string() aria-describedby="reset-password-error"/>
                        <p class="hint">{password_hint()}</p>
                        <p class="field-error" id="reset-password-error">{password_error}</p>
                        <button type="submit" class="primary" disabled=move || reset.pending().get()>
                            {move || if reset.pending().get() { "Saving…" } else { "Set the new password" }}
                        </button>
                        <p class="form-error" id="reset-error" role="alert">{move || error.get()}</p>
                    </form>
                }.into_any()
            } else {
                view! {
                    <p class="form-error" role="alert">"This page needs the link from the mail."</p>
                }.into_any()
            }}
            <p class="switch"><A href="/forgot-password">"Ask for a new link"</A></p>
        </section>
    }
}

#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let session = use_session();
    let outcome = LocalResource::new(move || async move {
        match token_from_link() {
            Some(token) => api::verify_email(token)
                .await
                .map_err(|failure| failure.message),
            None => Err("This page needs the link from the mail.".to_owned()),
        }
    });
    Effect::new(move |_| {
        // A signed-in device shows the confirmed address at once (the banner goes).
        if let Some(Ok(user)) = outcome.get() {
            session.current.update(|current| {
                if let Some(auth) = current.as_mut().filter(|auth| auth.user.id == user.id) {
                    auth.user = user;
                }
            });
        }
    });

    view! {
        <section class="card auth-card" aria-labelledby="verify-title">
            <h1 id="verify-title">"Confirm your address"</h1>
            {move || match outcome.get() {
                None => view! { <p role="status">"Confirming…"</p> }.into_any(),
                Some(Ok(user)) => view! {
                    <p class="notice" id="email-verified" role="status">
                        {format!("Thank you: {} is confirmed.", user.email)}
                    </p>
                }.into_any(),
                Some(Err(message)) => view! {
                    <p class="form-error" id="verify-error" role="alert">{message}</p>
                }.into_any(),
            }}
            <p class="switch"><A href="/">"Continue"</A></p>
        </section>
    }
}
