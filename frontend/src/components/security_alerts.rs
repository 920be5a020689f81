//! Alerts about the account (a sign-in from somewhere new, a denied or refused sign-in),
//! each with "this wasn't me".

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::SecurityAlert;

use crate::api;
use crate::format::{alert_title, local_time, place};
use crate::state::use_session;

/// Banners for `alerts`; "this wasn't me" ends the session the alert is about (when there
/// is one) and opens `secure` (sign out the others and change the password).
#[component]
pub fn SecurityAlerts(
    alerts: RwSignal<Vec<SecurityAlert>>,
    secure: RwSignal<bool>,
    toast: RwSignal<Option<String>>,
) -> impl IntoView {
    let session = use_session();
    let dismiss = move |index: usize| {
        alerts.update(|list| {
            if index < list.len() {
                list.remove(index);
            }
        });
    };
    move || {
        alerts
            .get()
            .into_iter()
            .enumerate()
            .map(|(index, alert)| {
                let session_id = alert.session_id;
                let not_me = move |_| {
                    dismiss(index);
                    spawn_local(async move {
                        // First that session ends, then the password changes.
                        if let Some(id) = session_id {
                            match api::revoke_session(id).await {
                                Ok(()) => toast.set(Some("That session was signed out.".into())),
                                Err(error) => toast.set(Some(session.check(&error))),
                            }
                        }
                        secure.set(true);
                    });
                };
                view! {
                    <div class="alert" role="alert" data-kind=alert.kind.as_str()>
                        <div>
                            <strong>{alert_title(alert.kind)}</strong>
                            <div class="small">
                                {format!("{} · {} · {}", alert.device, place(&alert.ip, alert.country.as_deref()), local_time(alert.at))}
                            </div>
                        </div>
                        <div class="alert-actions">
                            <button type="button" class="danger this-wasnt-me" on:click=not_me>
                                "This wasn't me"
                            </button>
                            <button type="button" class="secondary" on:click=move |_| dismiss(index)>
                                "It was me"
                            </button>
                        </div>
                    </div>
                }
            })
            .collect_view()
    }
}
