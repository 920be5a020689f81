//! "Confirm your address", with a resend, until the address is confirmed; and, for an
//! account its password alone protects (`User::password_only`), what that means and how to
//! change it.

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
    let password_only = Memo::new(move |_| {
        session
            .current
            .with(|auth| auth.as_ref().is_some_and(|auth| auth.user.password_only))
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
        if unverified.get() {
            Some(view! {
                <div class="banner info" role="status" id="verify-banner">
                    <span>
                        "Please confirm your address, "
                        <strong>{email}</strong>
                        {move || if session.mail_is_logged() {
                            format!(". {MAIL_IS_LOGGED}")
                        } else {
                            ": we mailed a link to it.".to_owned()
                        }}
                        " A confirmed address can recover your account."
                        {move || password_only.get().then_some(
                            " Until then your password alone protects it: while none of your \
                             devices is signed in, anyone who has the password can sign in, and \
                             approve their own devices after. Confirmed, the address gets a code \
                             for each new device instead."
                        )}
                    </span>
                    <button type="button" class="secondary" id="resend-verification"
                        disabled=move || resend.pending().get()
                        on:click=move |_| { resend.dispatch(()); }>
                        "Send it again"
                    </button>
                    {move || message.get().map(|text| view! { <span class="muted" id="resend-result">{text}</span> })}
                </div>
            }
            .into_any())
        } else if password_only.get() {
            // Confirmed, and still nothing but the password: this server mails no codes.
            Some(
                view! {
                    <div class="banner info" role="status" id="password-only-notice">
                        <span>
                            "Your password alone protects this account: this service mails no \
                             sign-in codes, so while none of your devices is signed in, anyone who \
                             has your password can sign in. Use a password you use nowhere else, \
                             and stay signed in on a device you trust: new devices then need its \
                             approval."
                        </span>
                    </div>
                }
                .into_any(),
            )
        } else {
            None
        }
    }
}
