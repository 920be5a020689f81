//! "Confirm your address": shown until the address is confirmed, with a resend.

use leptos::prelude::*;

use crate::api;
use crate::state::{MAIL_IS_LOGGED, use_session};

#[component]
pub fn VerifyBanner() -> impl IntoView {
    let session = use_session();
    let unverified = Memo::new(move |_| {
        session
            .current
            .with(|auth| auth.as_ref().is_some_and(|auth| !auth.user.email_verified))
    });
    let email = move || {
        session
            .current
            .with(|auth| auth.as_ref().map(|auth| auth.user.email.clone()))
            .unwrap_or_default()
    };
    let message = RwSignal::new(None::<String>);
    let resend = Action::new_local(|(): &()| api::resend_verification());
    Effect::new(move |_| match resend.value().get() {
        Some(Ok(queued)) => message.set(Some(queued.message)),
        Some(Err(failure)) => message.set(Some(session.check(&failure))),
        None => {}
    });

    move || {
        unverified.get().then(|| view! {
            <div class="banner info" role="status" id="verify-banner">
                <span>
                    "Please confirm your address, "
                    <strong>{email}</strong>
                    {move || if session.mail_is_logged() {
                        format!(". {MAIL_IS_LOGGED}")
                    } else {
                        ": we mailed a link to it.".to_owned()
                    }}
                    " Only a confirmed address can recover your account."
                </span>
                <button type="button" class="secondary" id="resend-verification"
                    disabled=move || resend.pending().get()
                    on:click=move |_| { resend.dispatch(()); }>
                    "Send it again"
                </button>
                {move || message.get().map(|text| view! { <span class="muted" id="resend-result">{text}</span> })}
            </div>
        })
    }
}
