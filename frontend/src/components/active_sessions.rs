use leptos::prelude::*;
use uuid::Uuid;

use crate::api;
use crate::components::loading::{Loaded, use_api_resource};
use crate::components::reauth::use_reauth;
use crate::format::{ago, local_time, place, proof_method};
use crate::state::use_session;

#[component]
pub fn ActiveSessions(refresh: RwSignal<u32>, toast: RwSignal<Option<String>>) -> impl IntoView {
    let session = use_session();
    let reauth = use_reauth();
    let list = use_api_resource(refresh, api::sessions);
    let revoke = Action::new_local(|id: &Uuid| api::revoke_session(*id));
    Effect::new(move |_| match revoke.value().get() {
        Some(Ok(())) => {
            toast.set(Some("The session was revoked.".into()));
            refresh.update(|n| *n += 1);
        }
        Some(Err(error)) => toast.set(Some(session.check(&error))),
        None => {}
    });
    let revoke_others = Action::new_local(|_: &()| api::revoke_other_sessions());
    Effect::new(move |_| match revoke_others.value().get() {
        Some(Ok(count)) => {
            toast.set(Some(format!(
                "Signed out {} other device(s).",
                count.revoked
            )));
            refresh.update(|n| *n += 1);
        }
        Some(Err(error)) => toast.set(reauth.explain(&error, move || {
            revoke_others.dispatch(());
        })),
        None => {}
    });

    let rows = move || {
        list.get().map(|result| {
            result.map(|list| {
                let others = list.sessions.iter().filter(|item| !item.current).count();
                let items = list
                    .sessions
                    .into_iter()
                    .map(|item| {
                        let id = item.id;
                        view! {
                            <li class="session" class:current=item.current data-session-id=id.to_string()>
                                <div class="session-main">
                                    <strong>{format!("{} on {}", item.browser, item.os)}</strong>
                                    {item.current.then(|| view! { <span class="badge">"This device"</span> })}
                                    <span class="muted">{format!("{} · {}", item.device, place(&item.ip, item.country.as_deref()))}</span>
                                </div>
                                <div class="muted small">
                                    {format!("Signed in {} · last active {}", local_time(item.created_at), ago(item.last_seen_at))}
                                </div>
                                <div class="muted small proof">
                                    {format!("Proved by {} · {}", proof_method(item.proof_method), local_time(item.proved_at))}
                                </div>
                                {(!item.current).then(|| view! {
                                    <button type="button" class="danger revoke" disabled=move || revoke.pending().get()
                                        on:click=move |_| { revoke.dispatch(id); }>
                                        "Revoke"
                                    </button>
                                })}
                            </li>
                        }
                    })
                    .collect_view();
                view! {
                    <ul class="sessions">{items}</ul>
                    {(others > 0).then(|| view! {
                        <button type="button" class="secondary" id="revoke-others"
                            disabled=move || revoke_others.pending().get()
                            on:click=move |_| { revoke_others.dispatch(()); }>
                            "Sign out all other devices"
                        </button>
                    })}
                }
                .into_any()
            })
        })
    };

    view! {
        <section class="card" id="active-sessions" aria-labelledby="sessions-title">
            <h2 id="sessions-title">"Active sessions"</h2>
            <Loaded>{rows}</Loaded>
        </section>
    }
}
