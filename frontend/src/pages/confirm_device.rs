//! The device that was mailed a code: no device of the account could approve it, so the
//! code sent to the account's address is typed here.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::EmailConfirmationRequired;

use crate::api::{self, LoginOutcome};
use crate::components::countdown::use_countdown;
use crate::components::no_request_here::{NoRequestHere, request_id_in_url};
use crate::format::countdown;
use crate::pending;
use crate::state::{page_title, use_session};
use crate::validation::mailed_code;

/// `/confirm-device/:id`: the request this tab made (kept across reloads), or a way back.
#[component]
pub fn ConfirmDevicePage() -> impl IntoView {
    let id = request_id_in_url();
    let request = move || id().and_then(pending::load_email_code);
    move || match request() {
        Some(request) => view! { <ConfirmDevice request=request/> }.into_any(),
        None => view! { <NoRequestHere/> }.into_any(),
    }
}

#[component]
fn ConfirmDevice(request: EmailConfirmationRequired) -> impl IntoView {
    let session = use_session();
    page_title("Confirm it's you");
    let typed = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    // The request is over (expired, locked, cancelled): only a new sign-in helps.
    let over = RwSignal::new(false);
    let seconds_left = use_countdown(request.expires_at);
    Effect::new(move |_| {
        if seconds_left.get() <= 0 && !over.get_untracked() {
            over.set(true);
            error.set(Some(
                "The code expired. Sign in again to get a new one.".into(),
            ));
        }
    });

    let approval_id = request.approval_id;
    let pending_token = request.pending_token.clone();
    let confirm = Action::new_local(move |code: &String| {
        let (pending_token, code) = (pending_token.clone(), code.clone());
        async move { api::confirm_email_code(approval_id, pending_token, code).await }
    });
    Effect::new(move |_| match confirm.value().get() {
        Some(Ok(LoginOutcome::LoggedIn(auth))) => {
            pending::forget(approval_id);
            session.signed_in(auth);
        }
        // A device signed in meanwhile: it approves this one now.
        Some(Ok(LoginOutcome::NeedsApproval(next))) => {
            pending::forget(approval_id);
            pending::save(&next);
            session.go(&format!("/approve/{}", next.approval_id));
        }
        Some(Ok(LoginOutcome::NeedsEmailCode(_) | LoginOutcome::NeedsSecondFactor(_))) => {
            error.set(Some("Sign in again to get a new code.".into()));
        }
        Some(Err(failure)) => {
            // Gone or unknown: this request cannot succeed any more.
            if matches!(failure.status, 404 | 409 | 410) {
                over.set(true);
                pending::forget(approval_id);
            }
            error.set(Some(session.check(&failure)));
        }
        None => {}
    });
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        match mailed_code(&typed.get()) {
            Ok(code) => {
                error.set(None);
                confirm.dispatch(code);
            }
            Err(problem) => error.set(Some(problem.to_owned())),
        }
    };
    let cancel_token = request.pending_token.clone();
    let sent_to = request.sent_to.clone();

    view! {
        <section class="card auth-card" aria-labelledby="confirm-title" id="confirm-device">
            <h1 id="confirm-title">"Confirm it's you"</h1>
            <p id="confirm-sent-to">
                "This device has not signed in to your account before, and none of your devices is signed in to approve it. "
                {move || if session.mail_is_logged() {
                    "Mail is not set up on this server: the 6-digit code for "
                } else {
                    "We mailed a 6-digit code to "
                }}
                <strong>{sent_to}</strong>
                {move || if session.mail_is_logged() { " is in the server log." } else { "." }}
            </p>
            <form id="email-code-form" on:submit=on_submit novalidate>
                <label for="email-code">"Code from the mail"</label>
                <input id="email-code" type="text" inputmode="numeric" autocomplete="one-time-code"
                    maxlength="9" bind:value=typed disabled=move || over.get()
                    aria-invalid=move || (error.get().is_some() && !over.get()).to_string()
                    aria-describedby="email-code-error"/>
                <p class="countdown" aria-live="off">
                    {move || if over.get() { String::new() } else { format!("Expires in {}", countdown(seconds_left.get())) }}
                </p>
                <button type="submit" class="primary" disabled=move || confirm.pending().get() || over.get()>
                    {move || if confirm.pending().get() { "Checking…" } else { "Sign in" }}
                </button>
                <p class="form-error" id="email-code-error" role="alert">{move || error.get()}</p>
            </form>
            <button type="button" class="secondary" id="confirm-cancel" on:click=move |_| {
                if !over.get_untracked() {
                    let pending_token = cancel_token.clone();
                    spawn_local(async move {
                        let _ = api::cancel_approval(approval_id, pending_token).await;
                    });
                }
                pending::forget(approval_id);
                session.notice.set(None);
                session.go("/login");
            }>
                {move || if over.get() { "Back to sign in" } else { "Cancel" }}
            </button>
            <p class="hint">
                "Did not sign in just now? Someone knows your password: "
                <a href="/forgot-password" id="confirm-to-reset">"reset it"</a>
                "."
            </p>
        </section>
    }
}
