use leptos::prelude::*;
use shared::SessionHistoryEntry;

use crate::api;
use crate::components::paged::paged_log;
use crate::format::{end_reason, local_time, place};

#[component]
pub fn SessionLog(refresh: RwSignal<u32>) -> impl IntoView {
    view! {
        <section class="card wide" id="session-log" aria-labelledby="log-title">
            <h2 id="log-title">"Session log"</h2>
            {paged_log(refresh, api::session_history, row, table, "Load older sessions")}
        </section>
    }
}

fn table(rows: AnyView) -> AnyView {
    view! {
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
    }
    .into_any()
}

fn row(item: SessionHistoryEntry) -> AnyView {
    let status = match (item.end_reason, item.active) {
        (_, true) if item.current => "Active (this device)".to_owned(),
        (_, true) => "Active".to_owned(),
        (Some(reason), false) => end_reason(reason).to_owned(),
        (None, false) => "Expired".to_owned(),
    };
    view! {
        <tr>
            <td>
                <strong>{format!("{} on {}", item.browser, item.os)}</strong>
                <div class="muted small">{item.device}</div>
            </td>
            <td>{place(&item.ip, item.country.as_deref())}</td>
            <td>{local_time(item.created_at)}</td>
            <td>{item.ended_at.map(local_time).unwrap_or_else(|| "—".to_owned())}</td>
            <td>{status}</td>
        </tr>
    }
    .into_any()
}
