//! "Security": the authenticator app (set up from its QR code, confirmed with a code, turned
//! off) and the recovery codes (shown once, to copy or download; a new set on demand).

use leptos::prelude::*;
use shared::{Secret, TotpSetup};

use crate::api;
use crate::components::loading::{Loaded, use_api_resource};
use crate::components::reauth::use_reauth;
use crate::state::use_session;

#[component]
pub fn Security(refresh: RwSignal<u32>, toast: RwSignal<Option<String>>) -> impl IntoView {
    let session = use_session();
    let reauth = use_reauth();
    let status = use_api_resource(refresh, api::second_factor_status);
    let setup = RwSignal::new(None::<TotpSetup>);
    let code = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    // Shown once, right after they were made.
    let recovery_codes = RwSignal::new(None::<Vec<Secret>>);
    let changed = move |message: &str| {
        toast.set(Some(message.to_owned()));
        refresh.update(|n| *n += 1);
        // The user's `totp_enabled` (and `password_only`) changed too.
        leptos::task::spawn_local(async move {
            if let Ok(auth) = api::me().await {
                session.current.set(Some(auth));
            }
        });
    };

    let begin = Action::new_local(|_: &()| api::begin_totp());
    Effect::new(move |_| match begin.value().get() {
        Some(Ok(new_setup)) => {
            error.set(None);
            code.set(String::new());
            setup.set(Some(new_setup));
        }
        Some(Err(failure)) => error.set(reauth.explain(&failure, move || {
            begin.dispatch(());
        })),
        None => {}
    });
    let confirm = Action::new_local(|code: &String| api::confirm_totp(code.clone()));
    Effect::new(move |_| match confirm.value().get() {
        Some(Ok(codes)) => {
            setup.set(None);
            error.set(None);
            recovery_codes.set(Some(codes.recovery_codes));
            changed("The authenticator app is on.");
        }
        Some(Err(failure)) => {
            let typed = code.get_untracked();
            error.set(reauth.explain(&failure, move || {
                confirm.dispatch(typed.clone());
            }));
        }
        None => {}
    });
    let disable = Action::new_local(|_: &()| api::disable_totp());
    Effect::new(move |_| match disable.value().get() {
        Some(Ok(())) => {
            recovery_codes.set(None);
            changed("The authenticator app is off.");
        }
        Some(Err(failure)) => error.set(reauth.explain(&failure, move || {
            disable.dispatch(());
        })),
        None => {}
    });
    let regenerate = Action::new_local(|_: &()| api::regenerate_recovery_codes());
    Effect::new(move |_| match regenerate.value().get() {
        Some(Ok(codes)) => {
            recovery_codes.set(Some(codes.recovery_codes));
            changed("New recovery codes: the old ones no longer work.");
        }
        Some(Err(failure)) => error.set(reauth.explain(&failure, move || {
            regenerate.dispatch(());
        })),
        None => {}
    });
    let on_confirm = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        confirm.dispatch(code.get().trim().to_owned());
    };

    let codes_view = move || {
        recovery_codes.get().map(|codes| {
            let text: String = codes
                .iter()
                .map(|code| format!("{}\n", code.expose()))
                .collect();
            let href = format!(
                "data:text/plain;charset=utf-8,{}",
                String::from(js_sys::encode_uri_component(&text))
            );
            let copied = text.clone();
            view! {
                <div class="recovery" id="recovery-codes-shown">
                    <p><strong>"Your recovery codes"</strong>" — each signs in once without the app. Keep them somewhere safe: they are shown only now."</p>
                    <ul class="codes" id="recovery-codes">
                        {codes.into_iter().map(|code| view! { <li><code>{code.expose().to_owned()}</code></li> }).collect_view()}
                    </ul>
                    <div class="actions">
                        <button type="button" class="secondary" id="recovery-copy" on:click=move |_| {
                            if let Some(window) = web_sys::window() {
                                let _promise = window.navigator().clipboard().write_text(&copied);
                                toast.set(Some("Recovery codes copied.".into()));
                            }
                        }>"Copy"</button>
                        <a class="button secondary" id="recovery-download" download="recovery-codes.txt" href=href>"Download"</a>
                        <button type="button" class="secondary" id="recovery-done" on:click=move |_| recovery_codes.set(None)>"Done"</button>
                    </div>
                </div>
            }
        })
    };

    let setup_view = move || {
        setup.get().map(|setup| {
            view! {
                <form id="totp-setup" on:submit=on_confirm novalidate>
                    <p>"Scan this code with your authenticator app, or type the key, then enter the 6-digit code it shows."</p>
                    <div class="qr" id="totp-qr" inner_html=setup.qr_svg></div>
                    <p class="muted small">"Key: "<code id="totp-secret">{setup.secret.expose().to_owned()}</code></p>
                    <label for="totp-code">"Code"</label>
                    <input id="totp-code" type="text" inputmode="numeric" autocomplete="one-time-code" bind:value=code/>
                    <button type="submit" class="primary" id="totp-confirm" disabled=move || confirm.pending().get()>
                        "Turn on"
                    </button>
                </form>
            }
        })
    };

    let state_view = move || {
        status.get().map(|result| {
            result.map(|status| {
                if status.totp_enabled {
                    view! {
                        <p id="totp-state">
                            "Authenticator app: "<strong>"on"</strong>
                            {format!(" · {} recovery code(s) left", status.recovery_codes_left)}
                        </p>
                        <div class="actions">
                            <button type="button" class="secondary" id="recovery-regenerate"
                                disabled=move || regenerate.pending().get()
                                on:click=move |_| { regenerate.dispatch(()); }>
                                "New recovery codes"
                            </button>
                            <button type="button" class="danger" id="totp-disable"
                                disabled=move || disable.pending().get()
                                on:click=move |_| { disable.dispatch(()); }>
                                "Turn off"
                            </button>
                        </div>
                    }
                    .into_any()
                } else {
                    view! {
                        <p id="totp-state">
                            "Authenticator app: "<strong>"off"</strong>
                            " — turn it on and every sign-in asks for its code after the password."
                        </p>
                        <button type="button" class="secondary" id="totp-begin"
                            disabled=move || begin.pending().get()
                            on:click=move |_| { begin.dispatch(()); }>
                            "Set up an authenticator app"
                        </button>
                    }
                    .into_any()
                }
            })
        })
    };

    view! {
        <section class="card" id="security" aria-labelledby="security-title">
            <h2 id="security-title">"Security"</h2>
            <Loaded>{state_view}</Loaded>
            {setup_view}
            {codes_view}
            <p class="field-error" id="security-error" role="alert">{move || error.get()}</p>
        </section>
    }
}
