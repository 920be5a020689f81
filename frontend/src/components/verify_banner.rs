//! "Confirm your address", with a resend, until the address is confirmed; and, for an
//! account its password alone protects (`User::password_only`), what that means and how to
//! change it.

use leptos::prelude::*;

use crate::api;
use crate::state::use_session;
use shared::banners;

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
                        {banners::CONFIRM_ADDRESS}
                        <strong>{email}</strong>
                        {move || banners::after_address(session.mail_is_logged())}
                        {banners::CONFIRMED_ADDRESS_RECOVERS}
                        {move || password_only.get().then_some(banners::UNTIL_CONFIRMED_PASSWORD_ONLY)}
                    </span>
                    <button type="button" class="secondary" id="resend-verification"
                        disabled=move || resend.pending().get()
                        on:click=move |_| { resend.dispatch(()); }>
                        {banners::SEND_AGAIN}
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
                        <span>{banners::PASSWORD_ONLY}</span>
                    </div>
                }
                .into_any(),
            )
        } else {
            None
        }
    }
}
