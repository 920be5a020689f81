//! Sudo mode in the app: a change the server refuses with `reauthentication_required` opens
//! a dialog that asks for the password (or a code of the authenticator app, or one of the
//! account's passkeys), then does what the user asked for again.

use std::sync::Arc;

use leptos::prelude::*;
use shared::{ErrorCode, ReauthenticateRequest, Secret};

use crate::api::{self, ApiError};
use crate::passkey;
use crate::state::{Session, use_session};

type Retry = Arc<dyn Fn() + Send + Sync>;

/// The dialog's state, shared by everything on the dashboard that may need it.
#[derive(Clone, Copy)]
pub struct Reauth {
    open: RwSignal<bool>,
    retry: StoredValue<Option<Retry>>,
    session: Session,
}

impl Reauth {
    pub fn provide() -> Self {
        let reauth = Self {
            open: RwSignal::new(false),
            retry: StoredValue::new(None),
            session: use_session(),
        };
        provide_context(reauth);
        reauth
    }

    /// What to show for a change that failed with `error` (as `Session::check` says), or,
    /// when it asks for a recent proof, nothing: the dialog opens instead, and runs `retry`
    /// once the user confirmed it is them.
    pub fn explain(
        &self,
        error: &ApiError,
        retry: impl Fn() + Send + Sync + 'static,
    ) -> Option<String> {
        if error.code != ErrorCode::ReauthenticationRequired {
            return Some(self.session.check(error));
        }
        self.retry.set_value(Some(Arc::new(retry)));
        self.open.set(true);
        None
    }
}

pub fn use_reauth() -> Reauth {
    expect_context::<Reauth>()
}

#[component]
pub fn ReauthDialog(totp_enabled: Signal<bool>) -> impl IntoView {
    let session = use_session();
    let reauth = use_reauth();
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let with_code = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let confirm = Action::new_local(|request: &ReauthenticateRequest| {
        let request = request.clone();
        async move { api::reauthenticate(&request).await }
    });
    let with_passkey = Action::new_local(|_: &()| passkey::reauthenticate());
    // Offered only when the account has a passkey (asked each time the dialog opens).
    let has_passkey = LocalResource::new(move || {
        let open = reauth.open.get();
        async move {
            open && passkey::supported()
                && api::passkeys()
                    .await
                    .is_ok_and(|list| !list.passkeys.is_empty())
        }
    });
    let close = move || {
        password.set(String::new());
        code.set(String::new());
        error.set(None);
        reauth.open.set(false);
    };
    let settle = move |result: Option<api::ApiResult<shared::SessionInfo>>| match result {
        // Cancelled while the passkey prompt was open: the proof counts, the change waits.
        Some(Ok(_)) if !reauth.open.get_untracked() => {}
        Some(Ok(_)) => {
            close();
            if let Some(retry) = reauth.retry.get_value() {
                reauth.retry.set_value(None);
                retry();
            }
        }
        Some(Err(failure)) if passkey::is_abort(&failure) => {}
        Some(Err(failure)) => error.set(Some(session.check(&failure))),
        None => {}
    };
    Effect::new(move |_| settle(confirm.value().get()));
    Effect::new(move |_| settle(with_passkey.value().get()));
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let request = if with_code.get() {
            ReauthenticateRequest {
                password: None,
                code: Some(Secret::new(code.get().trim().to_owned())),
            }
        } else {
            ReauthenticateRequest {
                password: Some(Secret::new(password.get())),
                code: None,
            }
        };
        confirm.dispatch(request);
    };
    move || {
        reauth.open.get().then(|| {
            view! {
                <div class="modal-backdrop">
                    <div class="modal" role="dialog" aria-modal="true" aria-labelledby="reauth-title" id="reauth-dialog">
                        <h2 id="reauth-title">"Confirm it is you"</h2>
                        <p>"This change needs a recent confirmation of who you are."</p>
                        <form on:submit=on_submit novalidate>
                            {move || if with_code.get() {
                                view! {
                                    <label for="reauth-code">"Code of your authenticator app"</label>
                                    <input id="reauth-code" type="text" inputmode="numeric"
                                        autocomplete="one-time-code" bind:value=code/>
                                }.into_any()
                            } else {
                                view! {
                                    <label for="reauth-password">"Password"</label>
                                    <input id="reauth-password" type="password"
                                        autocomplete="current-password" bind:value=password/>
                                }.into_any()
                            }}
                            {move || totp_enabled.get().then(|| view! {
                                <button type="button" class="link" id="reauth-switch"
                                    on:click=move |_| with_code.update(|on| *on = !*on)>
                                    {move || if with_code.get() { "Use the password instead" } else { "Use the authenticator app instead" }}
                                </button>
                            })}
                            {move || has_passkey.get().unwrap_or(false).then(|| view! {
                                <button type="button" class="secondary" id="reauth-passkey"
                                    disabled=move || with_passkey.pending().get()
                                    on:click=move |_| {
                                        error.set(None);
                                        with_passkey.dispatch(());
                                    }>
                                    {move || if with_passkey.pending().get() { "Waiting for the passkey…" } else { "Use a passkey" }}
                                </button>
                            })}
                            <p class="field-error" id="reauth-error" role="alert">{move || error.get()}</p>
                            <div class="actions">
                                <button type="submit" class="primary" id="reauth-submit"
                                    disabled=move || confirm.pending().get()>
                                    "Confirm"
                                </button>
                                <button type="button" class="secondary" id="reauth-cancel"
                                    on:click=move |_| {
                                        reauth.retry.set_value(None);
                                        close();
                                    }>
                                    "Cancel"
                                </button>
                            </div>
                        </form>
                    </div>
                </div>
            }
        })
    }
}
