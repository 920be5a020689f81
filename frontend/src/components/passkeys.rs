//! The dashboard's passkeys: add one (a name, then the browser's dialog), the list with
//! created / last used, rename, remove.

use leptos::prelude::*;
use uuid::Uuid;

use crate::api;
use crate::components::loading::{Loaded, use_api_resource};
use crate::components::reauth::use_reauth;
use crate::format::{ago, local_time};
use crate::passkey;
use crate::state::use_session;

#[component]
pub fn Passkeys(toast: RwSignal<Option<String>>) -> impl IntoView {
    let session = use_session();
    let refresh = RwSignal::new(0u32);
    let list = use_api_resource(refresh, api::passkeys);
    let name = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let reload = move || refresh.update(|n| *n += 1);

    // Adding and removing need a recent proof (sudo mode): the dialog asks, then retries.
    let reauth = use_reauth();
    let last_removed = StoredValue::new(None::<Uuid>);
    let adding = Action::new_local(|name: &String| passkey::register(name.clone()));
    Effect::new(move |_| match adding.value().get() {
        Some(Ok(added)) => {
            name.set(String::new());
            error.set(None);
            toast.set(Some(format!(
                "The passkey \u{201c}{}\u{201d} was added.",
                added.name
            )));
            reload();
        }
        Some(Err(failure)) if !passkey::is_abort(&failure) => {
            let typed = name.get_untracked();
            error.set(reauth.explain(&failure, move || {
                adding.dispatch(typed.clone());
            }))
        }
        _ => {}
    });
    let renaming =
        Action::new_local(|(id, name): &(Uuid, String)| api::rename_passkey(*id, name.clone()));
    Effect::new(move |_| match renaming.value().get() {
        Some(Ok(_)) => reload(),
        Some(Err(failure)) => toast.set(Some(session.check(&failure))),
        None => {}
    });
    let removing = Action::new_local(|id: &Uuid| api::remove_passkey(*id));
    Effect::new(move |_| match removing.value().get() {
        Some(Ok(())) => {
            toast.set(Some("The passkey was removed.".into()));
            reload();
        }
        Some(Err(failure)) => toast.set(reauth.explain(&failure, move || {
            if let Some(id) = last_removed.get_value() {
                removing.dispatch(id);
            }
        })),
        None => {}
    });

    let on_add = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        match shared::rules::display_name(&name.get()) {
            Ok(cleaned) => {
                error.set(None);
                adding.dispatch(cleaned);
            }
            Err(problem) => error.set(Some(problem.to_string())),
        }
    };

    let rows = move || {
        list.get().map(|result| {
            result.map(|list| {
                let full = list.passkeys.len() >= usize::try_from(list.max_passkeys).unwrap_or(usize::MAX);
                let items = list
                    .passkeys
                    .into_iter()
                    .map(|item| {
                        let id = item.id;
                        let current = item.name.clone();
                        let used = item
                            .last_used_at
                            .map_or_else(|| "never used".to_owned(), |at| format!("last used {}", ago(at)));
                        view! {
                            <li class="passkey" data-passkey-id=id.to_string()>
                                <div class="session-main"><strong class="passkey-name">{item.name}</strong></div>
                                <div class="muted small">{format!("Added {} · {used}", local_time(item.created_at))}</div>
                                <button type="button" class="secondary rename-passkey"
                                    on:click=move |_| {
                                        let asked = web_sys::window()
                                            .and_then(|window| window.prompt_with_message_and_default("New name", &current).ok().flatten());
                                        if let Some(new) = asked.filter(|new| !new.trim().is_empty()) {
                                            renaming.dispatch((id, new));
                                        }
                                    }>
                                    "Rename"
                                </button>
                                <button type="button" class="danger remove-passkey" disabled=move || removing.pending().get()
                                    on:click=move |_| { last_removed.set_value(Some(id)); removing.dispatch(id); }>
                                    "Remove"
                                </button>
                            </li>
                        }
                    })
                    .collect_view();
                view! {
                    <ul class="sessions" id="passkey-list">{items}</ul>
                    {full.then(|| view! {
                        <p class="hint" id="passkey-limit">{format!("You have {} passkeys, as many as you may: remove one to add another.", list.max_passkeys)}</p>
                    })}
                }
                .into_any()
            })
        })
    };

    view! {
        <section class="card" id="passkeys" aria-labelledby="passkeys-title">
            <h3 id="passkeys-title">"Passkeys"</h3>
            <p class="hint">"Sign in with your fingerprint, face or screen lock instead of the password: no code is mailed to a new browser."</p>
            <Loaded>{rows}</Loaded>
            {passkey::supported().then(|| view! {
                <form id="add-passkey" on:submit=on_add novalidate>
                    <label for="passkey-name">"Name of the new passkey"</label>
                    <input id="passkey-name" type="text" placeholder="Laptop" maxlength="100" bind:value=name/>
                    <button type="submit" class="primary" id="add-passkey-button" disabled=move || adding.pending().get()>
                        {move || if adding.pending().get() { "Waiting for the browser…" } else { "Add a passkey" }}
                    </button>
                    <p class="form-error" id="passkey-error" role="alert">{move || error.get()}</p>
                </form>
            })}
        </section>
    }
}
