use leptos::prelude::*;
use shared::{ErrorCode, PasswordStrength, Secret, SignupRequest};

use crate::api;
use crate::components::strength::StrengthMeter;
use crate::state::{page_title, use_session};
use crate::validation::{
    Refused, email_problem, name_problem, new_password_problem, password_hint, weakness,
};

fn still_refused(refused: RwSignal<Option<Refused>>, value: &str) -> Option<String> {
    refused.with(|refused| refused.as_ref()?.message_for(value))
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let session = use_session();
    page_title("Create an account");
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let strength = RwSignal::new(None::<PasswordStrength>);
    let submitted = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let email_refused = RwSignal::new(None::<Refused>);
    let password_refused = RwSignal::new(None::<Refused>);
    // What was sent, for the server's answer about it.
    let sent = StoredValue::new((String::new(), String::new()));

    // One message per field: the first of the rules that fails.
    let name_error = move || submitted.get().then(|| name_problem(&name.get())).flatten();
    let email_error = move || {
        let value = email.get();
        submitted
            .get()
            .then(|| email_problem(&value).map(str::to_owned))
            .flatten()
            .or_else(|| still_refused(email_refused, &value))
    };
    // The password's rules are shown as the user types, not only after submitting: its
    // length, then how guessable it is (the meter's answer, or the server's refusal).
    let password_error = move || {
        let value = password.get();
        if value.is_empty() && !submitted.get() {
            return None;
        }
        new_password_problem(&value)
            .or_else(|| still_refused(password_refused, &value))
            .or_else(|| strength.with(|strength| strength.as_ref().and_then(weakness)))
    };

    let signup = Action::new_local(|request: &SignupRequest| {
        let request = request.clone();
        async move { api::signup(&request).await }
    });
    Effect::new(move |_| match signup.value().get() {
        Some(Ok(auth)) => session.signed_in(auth),
        Some(Err(failure)) if failure.code == ErrorCode::EmailTaken => {
            email_refused.set(Some(Refused {
                value: sent.get_value().0,
                message: failure.message,
            }));
        }
        Some(Err(failure)) if failure.code == ErrorCode::WeakPassword => {
            password_refused.set(Some(Refused {
                value: sent.get_value().1,
                message: failure.message,
            }));
        }
        Some(Err(failure)) => error.set(Some(session.check(&failure))),
        None => {}
    });
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        submitted.set(true);
        error.set(None);
        if name_problem(&name.get()).is_some()
            || email_problem(&email.get()).is_some()
            || new_password_problem(&password.get()).is_some()
        {
            return;
        }
        sent.set_value((email.get(), password.get()));
        signup.dispatch(SignupRequest {
            email: email.get().trim().to_owned(),
            password: Secret::new(password.get()),
            name: name.get().trim().to_owned(),
        });
    };

    view! {
        <section class="card auth-card" aria-labelledby="signup-title">
            <h1 id="signup-title">"Create an account"</h1>
            <form id="signup-form" on:submit=on_submit novalidate>
                <label for="signup-name">"Name"</label>
                <input id="signup-name" type="text" autocomplete="name" bind:value=name
                    aria-invalid=move || name_error().is_some().to_string() aria-describedby="signup-name-error"/>
                <p class="field-error" id="signup-name-error">{name_error}</p>

                <label for="signup-email">"Email"</label>
                <input id="signup-email" type="email" autocomplete="username" bind:value=email
                    aria-invalid=move || email_error().is_some().to_string() aria-describedby="signup-email-error"/>
                <p class="field-error" id="signup-email-error">{email_error}</p>

                <label for="signup-password">"Password"</label>
                <input id="signup-password" type="password" autocomplete="new-password" bind:value=password
                    aria-invalid=move || password_error().is_some().to_string() aria-describedby="signup-password-hint signup-password-error"/>
                <p class="hint" id="signup-password-hint">{password_hint()}</p>
                <StrengthMeter password=password email=email name=name strength=strength/>
                <p class="field-error" id="signup-password-error">{password_error}</p>

                <button type="submit" class="primary" disabled=move || signup.pending().get()>
                    {move || if signup.pending().get() { "Creating account…" } else { "Create account" }}
                </button>
                <p class="form-error" id="signup-error" role="alert">{move || error.get()}</p>
            </form>
            <p class="switch">
                "Already have an account? "
                <a href="/login" id="to-login">"Sign in"</a>
            </p>
        </section>
    }
}
