use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::SessionHistoryEntry;

use crate::api;
use crate::app::use_session;
use crate::format::{end_reason, local_time};

#[component]
pub fn SessionLog(refresh: RwSignal<u32>) -> impl IntoView {
    let session = use_session();
    let items = RwSignal::new(Vec::<SessionHistoryEntry>::new());
    let next = RwSignal::new(None::<String>);
    let loading = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let load = move |cursor: Option<String>| {
        loading.set(true);
        spawn_local(async move {
            match api::session_history(cursor.clone()).await {
                Ok(page) => {
                    if cursor.is_some() {
                        items.update(|list| list.extend(page.items));
                    } else {
                        items.set(page.items);
                    }
                    next.set(page.next_cursor);
                    error.set(None);
                }
                Err(failure) => error.set(Some(session.check(&failure))),
            }
            loading.set(false);
        });
    };
    Effect::new(move |_| {
        refresh.track();
        load(None);
    });

    let rows = move || {
        items
            .get()
            .into_iter()
            .map(|item| {
                let status = match (&item.end_reason, item.active) {
                    (_, true) if item.current => "Active (this device)".to_owned(),
                    (_, true) => "Active".to_owned(),
                    (Some(reason), false) => end_reason(reason).to_owned(),
                    (None, false) => "Expired".to_owned(),
                };
                view! {
                    <tr>
                        <td>
                            <strong>{format!("{} on {}", item.browser, item.os)}</strong>
                            <div class="muted small">{item.device.clone()}</div>
                        </td>
                        <td>{item.ip.clone()}</td>
                        <td>{local_time(item.created_at)}</td>
                        <td>{item.ended_at.map(local_time).unwrap_or_else(|| "—".to_owned())}</td>
                        <td>{status}</td>
                    </tr>
                }
            })
            .collect_view()
    };

    view! {
        <section class="card wide" id="session-log" aria-labelledby="log-title">
            <h2 id="log-title">"Session log"</h2>
            <div class="table-scroll">
                <table>
                    <thead>
                        <tr>
                            <th scope="col">"Device"</th>
                            <th scope="col">"IP"</th>
                            <th scope="col">"Signed in"</th>
                            <th scope="col">"Ended"</th>
                            <th scope="col">"Status"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <p class="form-error" role="alert">{move || error.get()}</p>
            {move || next.get().map(|cursor| view! {
                <button type="button" class="secondary" disabled=move || loading.get()
                    on:click=move |_| load(Some(cursor.clone()))>
                    {move || if loading.get() { "Loading…" } else { "Load older sessions" }}
                </button>
            })}
        </section>
    }
}
