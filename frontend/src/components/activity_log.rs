use leptos::prelude::*;
use shared::ActivityEntry;

use crate::api;
use crate::components::paged::paged_log;
use crate::format::{activity_kind, local_time};

#[component]
pub fn ActivityLog(refresh: RwSignal<u32>) -> impl IntoView {
    view! {
        <section class="card wide" id="activity-log" aria-labelledby="activity-title">
            <h2 id="activity-title">"Activity"</h2>
            {paged_log(refresh, api::activity, row, list, "Load older events")}
        </section>
    }
}

fn list(rows: AnyView) -> AnyView {
    view! { <ul class="events">{rows}</ul> }.into_any()
}

fn row(item: ActivityEntry) -> AnyView {
    let origin = [item.device, item.ip]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
    view! {
        <li class=format!("event {}", item.kind)>
            <div><strong>{activity_kind(item.kind)}</strong>
                {item.detail.map(|detail| view! { <span class="muted">{format!(" — {detail}")}</span> })}
            </div>
            <div class="muted small">{format!("{} · {}", local_time(item.created_at), origin)}</div>
        </li>
    }
    .into_any()
}
