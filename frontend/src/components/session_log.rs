use leptos::prelude::*;

use crate::api;
use crate::components::paged::PagedList;
use crate::format::{end_reason, local_time, place};

#[component]
pub fn SessionLog(refresh: RwSignal<u32>) -> impl IntoView {
    let list = PagedList::new(refresh, api::session_history);

    let rows = move || {
        list.items
            .get()
            .into_iter()
            .map(|item| {
                let status = match (&item.end_reason, item.active) {
                    (_, true) if item.current => "Active (this device)".to_owned(),
                    (_, true) => "Active".to_owned(),
                    (Some(reason), false) => end_reason(*reason).to_owned(),
                    (None, false) => "Expired".to_owned(),
                };
                view! {
                    <tr>
                        <td>
                            <strong>{format!("{} on {}", item.browser, item.os)}</strong>
                            <div class="muted small">{item.device.clone()}</div>
                        </td>
                        <td>{place(&item.ip, item.country.as_deref())}</td>
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
            {list.footer("Load older sessions")}
        </section>
    }
}
