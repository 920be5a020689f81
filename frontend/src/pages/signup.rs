use leptos::prelude::*;
use leptos_router::components::A;
use shared::{Secret, SignupRequest};

use crate::api;
use crate::components::strength::StrengthMeter;
use crate::state::use_session;
use crate::validation::{email_problem, name_problem, new_password_problem, password_hint};

#[component]
pub fn SignupPage() -> impl IntoView {
    let session = use_session();
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let submitted = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let name_error = move || submitted.get().then(|| name_problem(&name.get())).flatten();
    let email_error = move || {
        submitted
            .get()
            .then(|| email_problem(&email.get()))
            .flatten()
    };
    // The password rule is shown as the user types, not only after submitting.
    let password_error = move || {
        let value = password.get();
        (submitted.get() || !value.is_empty())
            .then(|| new_password_problem(&value))
            .flatten()
    };

    let signup = Action::new_local(|request: &SignupRequest| {
        let request = request.clone();
        async move { api::signup(&request).await }
    });
    Effect::new(move |_| match signup.value().get() {
        Some(Ok(auth)) => session.signed_in(auth),
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
                <StrengthMeter password=password email=email name=name/>
                <p class="field-error" id="signup-password-error">{password_error}</p>

                <button type="submit" class="primary" disabled=move || signup.pending().get()>
                    {move || if signup.pending().get() { "Creating account…" } else { "Create account" }}
                </button>
                <p class="form-error" id="signup-error" role="alert">{move || error.get()}</p>
            </form>
            <p class="switch">
                "Already have an account? "
                <A href="/login" attr:id="to-login">"Sign in"</A>
            </p>
        </section>
    }
}
