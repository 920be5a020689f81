use leptos::prelude::*;
use shared::{ChangeEmailRequest, ChangePasswordRequest, DeleteAccountRequest, Secret};

use crate::api;
use crate::components::reauth::use_reauth;
use crate::state::use_session;
use crate::validation::{email_problem, name_problem, new_password_problem, password_hint};

#[component]
pub fn Profile(toast: RwSignal<Option<String>>) -> impl IntoView {
    let session = use_session();
    let reauth = use_reauth();
    let name = RwSignal::new(
        session
            .current
            .get_untracked()
            .map(|auth| auth.user.name)
            .unwrap_or_default(),
    );
    let name_error = RwSignal::new(None::<String>);
    let save_name = Action::new_local(|name: &String| api::update_name(name.clone()));
    Effect::new(move |_| match save_name.value().get() {
        Some(Ok(user)) => {
            name_error.set(None);
            session.current.update(|current| {
                if let Some(auth) = current {
                    auth.user = user;
                }
            });
            toast.set(Some("Your name was saved.".into()));
        }
        Some(Err(error)) => name_error.set(Some(session.check(&error))),
        None => {}
    });
    let on_name = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if let Some(problem) = name_problem(&name.get()) {
            name_error.set(Some(problem));
            return;
        }
        save_name.dispatch(name.get().trim().to_owned());
    };

    let current_password = RwSignal::new(String::new());
    let new_password = RwSignal::new(String::new());
    let password_error = RwSignal::new(None::<String>);
    // What was last asked, to ask again after a re-authentication.
    let change_request = RwSignal::new(None::<ChangePasswordRequest>);
    let change = Action::new_local(|request: &ChangePasswordRequest| {
        let request = request.clone();
        async move { api::change_password(&request).await }
    });
    Effect::new(move |_| match change.value().get() {
        Some(Ok(auth)) => {
            password_error.set(None);
            current_password.set(String::new());
            new_password.set(String::new());
            session.current.set(Some(auth));
            toast.set(Some(
                "Password changed. Every other device was signed out.".into(),
            ));
        }
        Some(Err(error)) => {
            let again = change_request.get_untracked();
            password_error.set(reauth.explain(&error, move || {
                if let Some(request) = again.clone() {
                    change.dispatch(request);
                }
            }));
        }
        None => {}
    });
    let on_password = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if current_password.get().is_empty() {
            password_error.set(Some("Enter your current password".into()));
        } else if let Some(problem) = new_password_problem(&new_password.get()) {
            password_error.set(Some(format!("New password: {problem}")));
        } else {
            password_error.set(None);
            let request = ChangePasswordRequest {
                current_password: Secret::new(current_password.get()),
                new_password: Secret::new(new_password.get()),
            };
            change_request.set(Some(request.clone()));
            change.dispatch(request);
        }
    };

    let new_email = RwSignal::new(String::new());
    let email_password = RwSignal::new(String::new());
    let email_error = RwSignal::new(None::<String>);
    // The change waiting for its link: asked of the server, then what the last request said.
    let pending_email = RwSignal::new(None::<String>);
    let email_status = LocalResource::new(api::email_change_status);
    Effect::new(move |_| {
        if let Some(Ok(status)) = email_status.get() {
            pending_email.set(status.pending.map(|pending| pending.new_email));
        }
    });
    let email_request = RwSignal::new(None::<ChangeEmailRequest>);
    let change_email = Action::new_local(|request: &ChangeEmailRequest| {
        let request = request.clone();
        async move { api::change_email(&request).await }
    });
    Effect::new(move |_| match change_email.value().get() {
        Some(Ok(status)) => {
            email_error.set(None);
            new_email.set(String::new());
            email_password.set(String::new());
            pending_email.set(status.pending.map(|pending| pending.new_email));
            toast.set(Some(status.message));
        }
        Some(Err(error)) => {
            let again = email_request.get_untracked();
            email_error.set(reauth.explain(&error, move || {
                if let Some(request) = again.clone() {
                    change_email.dispatch(request);
                }
            }));
        }
        None => {}
    });
    let on_email = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if let Some(problem) = email_problem(&new_email.get()) {
            email_error.set(Some(format!("New address: {problem}")));
        } else if email_password.get().is_empty() {
            email_error.set(Some("Enter your current password".into()));
        } else {
            email_error.set(None);
            let request = ChangeEmailRequest {
                new_email: new_email.get().trim().to_owned(),
                current_password: Secret::new(email_password.get()),
            };
            email_request.set(Some(request.clone()));
            change_email.dispatch(request);
        }
    };

    let delete_password = RwSignal::new(String::new());
    let delete_error = RwSignal::new(None::<String>);
    let confirming_delete = RwSignal::new(false);
    let delete = Action::new_local(|request: &DeleteAccountRequest| {
        let request = request.clone();
        async move { api::delete_account(&request).await }
    });
    Effect::new(move |_| match delete.value().get() {
        Some(Ok(())) => session.signed_out(shared::EndReason::AccountDeleted),
        Some(Err(error)) => delete_error.set(Some(session.check(&error))),
        None => {}
    });
    let on_delete = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if delete_password.get().is_empty() {
            delete_error.set(Some("Enter your current password".into()));
        } else {
            delete_error.set(None);
            delete.dispatch(DeleteAccountRequest {
                current_password: Secret::new(delete_password.get()),
            });
        }
    };

    view! {
        <section class="card" id="profile" aria-labelledby="profile-title">
            <h2 id="profile-title">"Profile"</h2>
            <form on:submit=on_name novalidate>
                <label for="profile-name">"Name"</label>
                <div class="inline">
                    <input id="profile-name" type="text" autocomplete="name" bind:value=name/>
                    <button type="submit" class="secondary" disabled=move || save_name.pending().get()>"Save"</button>
                </div>
                <p class="field-error" role="alert">{move || name_error.get()}</p>
            </form>
            <form id="change-password-form" on:submit=on_password novalidate>
                <h3>"Change password"</h3>
                <label for="current-password">"Current password"</label>
                <input id="current-password" type="password" autocomplete="current-password" bind:value=current_password/>
                <label for="new-password">"New password"</label>
                <input id="new-password" type="password" autocomplete="new-password" bind:value=new_password
                    aria-describedby="new-password-hint"/>
                <p class="hint" id="new-password-hint">{format!("{} Other devices will be signed out.", password_hint())}</p>
                <button type="submit" class="secondary" disabled=move || change.pending().get()>
                    {move || if change.pending().get() { "Changing…" } else { "Change password" }}
                </button>
                <p class="field-error" role="alert">{move || password_error.get()}</p>
            </form>
            <form id="change-email-form" on:submit=on_email novalidate>
                <h3>"Change e-mail address"</h3>
                {move || pending_email.get().map(|address| view! {
                    <p class="notice" id="email-change-pending" role="status">
                        {format!("Waiting for confirmation of {address}: open the link we mailed there.")}
                    </p>
                })}
                <label for="new-email">"New address"</label>
                <input id="new-email" type="email" autocomplete="email" bind:value=new_email/>
                <label for="email-password">"Current password"</label>
                <input id="email-password" type="password" autocomplete="current-password" bind:value=email_password/>
                <p class="hint">"Your address stays the same until you open the link we mail to the new one; then your other devices are signed out."</p>
                <button type="submit" class="secondary" disabled=move || change_email.pending().get()>
                    {move || if change_email.pending().get() { "Sending…" } else { "Change e-mail address" }}
                </button>
                <p class="field-error" role="alert">{move || email_error.get()}</p>
            </form>
            <h3>"Your data"</h3>
            <p>
                <a id="download-data" class="button secondary" href=shared::routes::EXPORT download="account-data.json">
                    "Download my data"
                </a>
            </p>
            <Show
                when=move || confirming_delete.get()
                fallback=move || view! {
                    <button id="delete-account" type="button" class="danger"
                        on:click=move |_| confirming_delete.set(true)>"Delete my account"</button>
                }
            >
                <form id="delete-account-form" on:submit=on_delete novalidate>
                    <p role="alert">
                        "Deleting your account signs out every device and erases your profile, your \
                         sessions and their history, your activity log and your sign-in requests, \
                         for good. This cannot be undone."
                    </p>
                    <label for="delete-password">"Current password"</label>
                    <input id="delete-password" type="password" autocomplete="current-password" bind:value=delete_password/>
                    <div class="inline">
                        <button type="submit" class="danger" disabled=move || delete.pending().get()>
                            {move || if delete.pending().get() { "Deleting…" } else { "Delete my account for good" }}
                        </button>
                        <button type="button" class="secondary" on:click=move |_| confirming_delete.set(false)>"Cancel"</button>
                    </div>
                    <p class="field-error" role="alert">{move || delete_error.get()}</p>
                </form>
            </Show>
        </section>
    }
}
