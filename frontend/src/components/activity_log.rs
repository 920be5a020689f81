use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::ActivityEntry;

use crate::api;
use crate::app::use_session;
use crate::format::{activity_kind, local_time};

#[component]
pub fn ActivityLog(refresh: RwSignal<u32>) -> impl IntoView {
    let session = use_session();
    let items = RwSignal::new(Vec::<ActivityEntry>::new());
    let next = RwSignal::new(None::<String>);
    let loading = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let load = move |cursor: Option<String>| {
        loading.set(true);
        spawn_local(async move {
            match api::activity(cursor.clone()).await {
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
                let origin = [item.device.clone(), item.ip.clone()].into_iter().flatten().collect::<Vec<_>>().join(" · ");
                view! {
                    <li class=format!("event {}", item.kind)>
                        <div><strong>{activity_kind(&item.kind)}</strong>
                            {item.detail.clone().map(|detail| view! { <span class="muted">{format!(" — {detail}")}</span> })}
                        </div>
                        <div class="muted small">{format!("{} · {}", local_time(item.created_at), origin)}</div>
                    </li>
                }
            })
            .collect_view()
    };

    view! {
        <section class="card wide" id="activity-log" aria-labelledby="activity-title">
            <h2 id="activity-title">"Activity"</h2>
            <ul class="events">{rows}</ul>
            <p class="form-error" role="alert">{move || error.get()}</p>
            {move || next.get().map(|cursor| view! {
                <button type="button" class="secondary" disabled=move || loading.get()
                    on:click=move |_| load(Some(cursor.clone()))>
                    {move || if loading.get() { "Loading…" } else { "Load older events" }}
                </button>
            })}
        </section>
    }
}
