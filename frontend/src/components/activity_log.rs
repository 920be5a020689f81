use leptos::prelude::*;

use crate::api;
use crate::components::paged::PagedList;
use crate::format::{activity_kind, local_time};

#[component]
pub fn ActivityLog(refresh: RwSignal<u32>) -> impl IntoView {
    let list = PagedList::new(refresh, api::activity);

    let rows = move || {
        list.items
            .get()
            .into_iter()
            .map(|item| {
                let origin = [item.device.clone(), item.ip.clone()].into_iter().flatten().collect::<Vec<_>>().join(" · ");
                view! {
                    <li class=format!("event {}", item.kind)>
                        <div><strong>{activity_kind(item.kind)}</strong>
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
            {list.footer("Load older events")}
        </section>
    }
}
