//! The new device: shows the code to type on the logged-in one, counts down, and follows
//! the decision live.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::ApprovalRequired;
use shared::ws::PendingMessage;

use crate::api;
use crate::components::countdown::use_countdown;
use crate::components::no_request_here::{NoRequestHere, request_id_in_url};
use crate::format::countdown;
use crate::pending;
use crate::socket::follow_pending_socket;
use crate::state::{page_title, use_session};

#[derive(Debug, Clone, PartialEq)]
enum Status {
    Waiting,
    SigningIn,
    Denied,
    Expired,
    Locked,
    SessionLimit,
    Failed(String),
}

/// `/approve/:id`: the request this tab made (kept across reloads), or a way back.
#[component]
pub fn WaitingPage() -> impl IntoView {
    let id = request_id_in_url();
    let request = move || id().and_then(pending::load);
    move || match request() {
        Some(request) => view! { <Waiting request=request/> }.into_any(),
        None => view! { <NoRequestHere/> }.into_any(),
    }
}

#[component]
fn Waiting(request: ApprovalRequired) -> impl IntoView {
    let session = use_session();
    page_title("Approve this device");
    let status = RwSignal::new(Status::Waiting);
    let seconds_left = use_countdown(request.expires_at);
    // Time is up on this side too, even if the socket is silent.
    Effect::new(move |_| {
        if seconds_left.get() <= 0 && status.get_untracked() == Status::Waiting {
            status.set(Status::Expired);
        }
    });

    let approval_id = request.approval_id;
    let pending_token = request.pending_token.clone();
    let cancel_token = request.pending_token.clone();
    if let Some(url) = api::pending_socket_url(approval_id) {
        follow_pending_socket(url, pending_token.clone(), move |message| match message {
            PendingMessage::Pending { .. } => {}
            PendingMessage::Approved => {
                status.set(Status::SigningIn);
                let pending_token = pending_token.clone();
                spawn_local(async move {
                    match api::complete_approval(approval_id, pending_token).await {
                        Ok(auth) => {
                            pending::forget(approval_id);
                            session.signed_in(auth);
                        }
                        Err(error) => status.set(Status::Failed(error.message)),
                    }
                });
            }
            PendingMessage::Denied => status.set(Status::Denied),
            PendingMessage::Expired => status.set(Status::Expired),
            PendingMessage::Locked => status.set(Status::Locked),
            PendingMessage::SessionLimit => status.set(Status::SessionLimit),
            PendingMessage::Completed => status.set(Status::Failed(
                "This sign-in was already completed elsewhere.".into(),
            )),
            PendingMessage::Cancelled => {
                status.set(Status::Failed("This sign-in request was cancelled.".into()))
            }
            // Something a newer server says that this page does not know.
            PendingMessage::Unknown => {}
        });
    }

    let code = request.code.expose().to_owned();
    let digits = code
        .chars()
        .map(|digit| view! { <span class="digit">{digit.to_string()}</span> })
        .collect_view();
    let message = move || match status.get() {
        Status::Waiting => ("waiting", "Waiting for approval…".to_owned()),
        Status::SigningIn => ("approved", "Approved! Signing you in…".to_owned()),
        Status::Denied => (
            "failed",
            "The request was refused on your other device.".to_owned(),
        ),
        Status::Expired => (
            "failed",
            "The code expired. Sign in again to get a new one.".to_owned(),
        ),
        Status::Locked => (
            "failed",
            "Too many wrong codes were typed. Sign in again to get a new one.".to_owned(),
        ),
        Status::SessionLimit => (
            "failed",
            match session.max_sessions() {
                Some(limit) => {
                    format!("Already {limit} sessions active. Sign out another device first.")
                }
                None => "Too many sessions are active. Sign out another device first.".to_owned(),
            },
        ),
        Status::Failed(reason) => ("failed", reason),
    };

    view! {
        <section class="card waiting-card" aria-labelledby="waiting-title">
            <h1 id="waiting-title">"Approve this device"</h1>
            <p>"You are already signed in on another device. Open it and type this code there:"</p>
            <div class="code" id="approval-code" data-code=code aria-label="Approval code">{digits}</div>
            <p class="countdown" aria-live="off">
                {move || if status.get() == Status::Waiting {
                    format!("Expires in {}", countdown(seconds_left.get()))
                } else {
                    String::new()
                }}
            </p>
            <p id="waiting-status" class=move || format!("status {}", message().0) role="status" aria-live="polite">
                {move || message().1}
            </p>
            <button type="button" class="secondary" id="back-to-login" on:click=move |_| {
                // Still waiting: withdraw the request so the other device's prompt goes away.
                if status.get_untracked() == Status::Waiting {
                    let pending_token = cancel_token.clone();
                    spawn_local(async move {
                        let _ = api::cancel_approval(approval_id, pending_token).await;
                    });
                }
                pending::forget(approval_id);
                session.notice.set(None);
                session.go("/login");
            }>
                {move || if status.get() == Status::Waiting { "Cancel" } else { "Back to sign in" }}
            </button>
        </section>
    }
}
