//! The pages a mailed link leads to, and the one that asks for a reset link.

use leptos::prelude::*;
use shared::ErrorCode;

use crate::api;
use crate::state::{page_title, use_session};
use crate::validation::{Refused, email_problem, new_password_problem, password_hint};

/// The token of the link this page was opened with (`#token=…`: the fragment reaches no
/// server and no `Referer`).
fn token_from_link() -> Option<String> {
    let hash = window().location().hash().ok()?;
    let token = hash.strip_prefix("#token=")?;
    (!token.is_empty()).then(|| token.to_owned())
}

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let session = use_session();
    page_title("Reset your password");
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
                    <p class="hint" id="forgot-hint">
                        {move || if session.mail_is_logged() {
                            "Mail is not set up on this server: the link will be in the server log. It works once, for 30 minutes, and signs out every device."
                        } else {
                            "We mail a link to your confirmed address. It works once, for 30 minutes, and signs out every device."
                        }}
                    </p>
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
            <p class="switch"><a href="/login" id="forgot-to-login">"Back to sign in"</a></p>
        </section>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    page_title("Choose a new password");
    view! {
        <section class="card auth-card" aria-labelledby="reset-title">
            <h1 id="reset-title">"Choose a new password"</h1>
            {match token_from_link() {
                Some(token) => view! { <NewPasswordForm token=token/> }.into_any(),
                None => view! {
                    <p class="form-error" role="alert">"This page needs the link from the mail."</p>
                }.into_any(),
            }}
            <p class="switch"><a href="/forgot-password">"Ask for a new link"</a></p>
        </section>
    }
}

/// Sets the new password with a reset token (from a reset link, or from securing the
/// account); then every device is signed out and the login page says so.
#[component]
fn NewPasswordForm(token: String) -> impl IntoView {
    let session = use_session();
    let password = RwSignal::new(String::new());
    let submitted = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let refused = RwSignal::new(None::<Refused>);
    let password_error = move || {
        let value = password.get();
        submitted
            .get()
            .then(|| new_password_problem(&value))
            .flatten()
            .or_else(|| refused.with(|refused| refused.as_ref()?.message_for(&value)))
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
        Some(Err(failure)) if failure.code == ErrorCode::WeakPassword => refused.set(Some(Refused {
            value: password.get_untracked(),
            message: failure.message,
        })),
        Some(Err(failure)) => error.set(Some(failure.message)),
        None => {}
    }
    });
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        submitted.set(true);
        error.set(None);
        if new_password_problem(&password.get()).is_none() {
            reset.dispatch((token.clone(), password.get()));
        }
    };

    view! {
        <form id="reset-form" on:submit=on_submit novalidate>
            <label for="reset-password">"New password"</label>
            <input id="reset-password" type="password" autocomplete="new-password" bind:value=password
                aria-invalid=move || password_error().is_some().to_string() aria-describedby="reset-password-hint reset-password-error"/>
            <p class="hint" id="reset-password-hint">{password_hint()}</p>
            <p class="field-error" id="reset-password-error">{password_error}</p>
            <button type="submit" class="primary" disabled=move || reset.pending().get()>
                {move || if reset.pending().get() { "Saving…" } else { "Set the new password" }}
            </button>
            <p class="form-error" id="reset-error" role="alert">{move || error.get()}</p>
        </form>
    }
}

/// "This wasn't me" from a security mail: one click signs out every device and cancels
/// every sign-in request, then a new password is chosen. A click, not the page load: mail
/// scanners that open links must not sign anyone out.
#[component]
pub fn SecureAccountPage() -> impl IntoView {
    let session = use_session();
    page_title("Secure your account");
    let token = StoredValue::new(token_from_link());
    let has_token = token.with_value(Option::is_some);
    let secure = Action::new_local(|token: &String| {
        let token = token.clone();
        async move { api::secure_account(token).await }
    });
    Effect::new(move |_| {
        // This browser's session ended with the others.
        if let Some(Ok(_)) = secure.value().get() {
            session.current.set(None);
        }
    });
    let on_confirm = move |_| {
        if let Some(token) = token.get_value() {
            secure.dispatch(token);
        }
    };

    view! {
        <section class="card auth-card" aria-labelledby="secure-page-title">
            <h1 id="secure-page-title">"Secure your account"</h1>
            {move || match secure.value().get() {
                Some(Ok(secured)) => view! {
                    <p class="notice" id="secured-message" role="status">{secured.message}</p>
                    <NewPasswordForm token=secured.reset_token.expose().to_owned()/>
                }.into_any(),
                Some(Err(failure)) => view! {
                    <p class="form-error" id="secure-error" role="alert">{failure.message}</p>
                    <p class="switch"><a href="/forgot-password">"Reset your password instead"</a></p>
                }.into_any(),
                None if has_token => view! {
                    <p>"If you did not sign in, someone knows your password. This signs out every device of your account (this one too) and cancels every sign-in request waiting; then you choose a new password."</p>
                    <button type="button" class="danger" id="secure-confirm" on:click=on_confirm
                        disabled=move || secure.pending().get()>
                        {move || if secure.pending().get() { "Signing out everywhere…" } else { "Sign out every device" }}
                    </button>
                }.into_any(),
                None => view! {
                    <p class="form-error" role="alert">"This page needs the link from the mail."</p>
                    <p class="switch"><a href="/forgot-password">"Reset your password instead"</a></p>
                }.into_any(),
            }}
        </section>
    }
}

#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let session = use_session();
    page_title("Confirm your address");
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
            <p class="switch"><a href="/">"Continue"</a></p>
        </section>
    }
}

/// The link mailed to a new address: one click moves the account there. A click, not the
/// page load: mail scanners that open links must not change anyone's address.
#[component]
pub fn ConfirmEmailChangePage() -> impl IntoView {
    let session = use_session();
    page_title("Confirm your new address");
    let token = StoredValue::new(token_from_link());
    let has_token = token.with_value(Option::is_some);
    let confirm = Action::new_local(|token: &String| {
        let token = token.clone();
        async move { api::confirm_email_change(token).await }
    });
    Effect::new(move |_| {
        // A signed-in browser of the account keeps its session: show the new address.
        if let Some(Ok(user)) = confirm.value().get() {
            session.current.update(|current| {
                if let Some(auth) = current.as_mut().filter(|auth| auth.user.id == user.id) {
                    auth.user = user;
                }
            });
        }
    });
    let on_confirm = move |_| {
        if let Some(token) = token.get_value() {
            confirm.dispatch(token);
        }
    };

    view! {
        <section class="card auth-card" aria-labelledby="confirm-email-title">
            <h1 id="confirm-email-title">"Confirm your new address"</h1>
            {move || match confirm.value().get() {
                Some(Ok(user)) => view! {
                    <p class="notice" id="email-changed" role="status">
                        {format!("Done: your account's address is now {}. Your other devices were signed out.", user.email)}
                    </p>
                }.into_any(),
                Some(Err(failure)) => view! {
                    <p class="form-error" id="email-change-error" role="alert">{failure.message}</p>
                }.into_any(),
                None if has_token => view! {
                    <p>"This moves your account to this address: you sign in with it from now on, and your other devices are signed out."</p>
                    <button type="button" class="primary" id="confirm-email-change" on:click=on_confirm
                        disabled=move || confirm.pending().get()>
                        {move || if confirm.pending().get() { "Confirming…" } else { "Use this address" }}
                    </button>
                }.into_any(),
                None => view! {
                    <p class="form-error" role="alert">"This page needs the link from the mail."</p>
                }.into_any(),
            }}
            <p class="switch"><a href="/">"Continue"</a></p>
        </section>
    }
}
