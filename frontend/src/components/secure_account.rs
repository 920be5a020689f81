//! "Secure your account": one step to change the password, which signs out every other
//! device and cancels sign-in requests in flight.

use leptos::prelude::*;
use shared::{ChangePasswordRequest, Secret};

use crate::api;
use crate::components::reauth::use_reauth;
use crate::state::use_session;
use crate::validation::{new_password_problem, password_hint};

#[component]
pub fn SecureAccount(open: RwSignal<bool>, toast: RwSignal<Option<String>>) -> impl IntoView {
    let session = use_session();
    let reauth = use_reauth();
    let current = RwSignal::new(String::new());
    let last_request = RwSignal::new(None::<ChangePasswordRequest>);
    let new = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let change = Action::new_local(|request: &ChangePasswordRequest| {
        let request = request.clone();
        async move { api::change_password(&request).await }
    });
    Effect::new(move |_| match change.value().get() {
        Some(Ok(auth)) => {
            session.current.set(Some(auth));
            current.set(String::new());
            new.set(String::new());
            error.set(None);
            open.set(false);
            toast.set(Some(
                "Password changed: every other device was signed out.".into(),
            ));
            session.refresh.update(|n| *n += 1);
        }
        Some(Err(failure)) => {
            let again = last_request.get_untracked();
            error.set(reauth.explain(&failure, move || {
                if let Some(request) = again.clone() {
                    change.dispatch(request);
                }
            }));
        }
        None => {}
    });
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if current.get().is_empty() {
            error.set(Some("Enter your current password".into()));
        } else if let Some(problem) = new_password_problem(&new.get()) {
            error.set(Some(format!("New password: {problem}")));
        } else {
            let request = ChangePasswordRequest {
                current_password: Secret::new(current.get()),
                new_password: Secret::new(new.get()),
            };
            last_request.set(Some(request.clone()));
            change.dispatch(request);
        }
    };
    move || {
        open.get().then(|| {
            view! {
                <div class="modal-backdrop">
                    <div class="modal" role="dialog" aria-modal="true" aria-labelledby="secure-title" id="secure-account">
                        <h2 id="secure-title">"Secure your account"</h2>
                        <p>"Change your password: every other device is signed out, and sign-in requests still waiting are cancelled."</p>
                        <form on:submit=on_submit novalidate>
                            <label for="secure-current">"Current password"</label>
                            <input id="secure-current" type="password" autocomplete="current-password" bind:value=current/>
                            <label for="secure-new">"New password"</label>
                            <input id="secure-new" type="password" autocomplete="new-password" bind:value=new
                                aria-describedby="secure-hint secure-error"/>
                            <p class="hint" id="secure-hint">{password_hint()}</p>
                            <p class="field-error" id="secure-error" role="alert">{move || error.get()}</p>
                            <div class="actions">
                                <button type="submit" class="primary" id="secure-submit" disabled=move || change.pending().get()>
                                    "Change password and sign out the others"
                                </button>
                                <button type="button" class="secondary" on:click=move |_| open.set(false)>
                                    "Not now"
                                </button>
                            </div>
                        </form>
                    </div>
                </div>
            }
        })
    }
}
