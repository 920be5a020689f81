//! The modal on a logged-in device when a new device asks to sign in.

use leptos::prelude::*;
use shared::PendingApproval;
use uuid::Uuid;

use crate::api;
use crate::components::countdown::use_countdown;
use crate::format::{countdown, local_time, place};
use crate::state::use_session;
use crate::validation;

#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    pub approval: PendingApproval,
    pub error: Option<String>,
}

/// `secure` opens the "secure your account" dialog (after a "this wasn't me").
#[component]
pub fn ApprovalPrompt(prompts: RwSignal<Vec<Prompt>>, secure: RwSignal<bool>) -> impl IntoView {
    // Re-render the dialog only when another request comes first, not on every update.
    let first =
        Memo::new(move |_| prompts.with(|list| list.first().map(|prompt| prompt.approval.id)));
    move || {
        first
            .get()
            .map(|id| view! { <PromptDialog id=id prompts=prompts secure=secure/> })
    }
}

#[component]
fn PromptDialog(id: Uuid, prompts: RwSignal<Vec<Prompt>>, secure: RwSignal<bool>) -> impl IntoView {
    let session = use_session();
    let prompt =
        move || prompts.with(|list| list.iter().find(|prompt| prompt.approval.id == id).cloned());
    let Some(initial) = prompt() else {
        return ().into_any();
    };
    let approval = initial.approval;
    let code = RwSignal::new(String::new());
    let set_error = move |message: String| {
        prompts.update(|list| {
            for prompt in list.iter_mut().filter(|prompt| prompt.approval.id == id) {
                prompt.error = Some(message.clone());
            }
        });
    };

    let seconds_left = use_countdown(approval.expires_at);

    let approve = Action::new_local(move |code: &String| api::approve(id, code.clone()));
    let deny = Action::new_local(move |suspicious: &bool| api::deny(id, *suspicious));
    // Remembered for after the answer (the action's input is gone by then).
    let suspicious_sent = RwSignal::new(false);
    let remove = move || prompts.update(|list| list.retain(|prompt| prompt.approval.id != id));
    Effect::new(move |_| match approve.value().get() {
        Some(Ok(_)) => remove(),
        Some(Err(error)) => {
            code.set(String::new());
            set_error(session.check(&error));
        }
        None => {}
    });
    Effect::new(move |_| match deny.value().get() {
        Some(Ok(_)) => {
            if suspicious_sent.get_untracked() {
                secure.set(true);
            }
            remove();
        }
        Some(Err(error)) => set_error(session.check(&error)),
        None => {}
    });
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        match validation::approval_code(&code.get()) {
            Ok(typed) => {
                approve.dispatch(typed);
            }
            Err(problem) => set_error(problem.to_owned()),
        }
    };
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = input.get() {
            let _ = input.focus();
        }
    });
    let busy = move || approve.pending().get() || deny.pending().get();
    let deny_as = move |suspicious: bool| {
        suspicious_sent.set(suspicious);
        deny.dispatch(suspicious);
    };
    let waiting_more = move || prompts.with(|list| list.len().saturating_sub(1));

    view! {
        <div class="modal-backdrop">
            <div class="modal" role="dialog" aria-modal="true" aria-labelledby="prompt-title" id="approval-prompt">
                <h2 id="prompt-title">"A new device wants to sign in"</h2>
                <dl class="details">
                    <dt>"Device"</dt>
                    <dd>
                        {format!("{} on {} ({})", approval.browser, approval.os, approval.device)}
                        <span class="muted small">" — as reported by the device"</span>
                    </dd>
                    <dt>"IP address"</dt>
                    <dd>{place(&approval.ip, approval.country.as_deref())}</dd>
                    <dt>"Requested"</dt>
                    <dd>{local_time(approval.requested_at)}</dd>
                </dl>
                <form on:submit=on_submit novalidate>
                    <label for="approval-code-input">"Type the 6-digit code shown on the new device"</label>
                    <input id="approval-code-input" node_ref=input type="text" inputmode="numeric"
                        autocomplete="one-time-code" maxlength="6" bind:value=code
                        aria-invalid=move || prompt().is_some_and(|prompt| prompt.error.is_some()).to_string()
                        aria-describedby="approval-error approval-meta"/>
                    <p class="field-error" id="approval-error" role="alert">
                        {move || prompt().and_then(|prompt| prompt.error)}
                    </p>
                    <p class="muted small" id="approval-meta">
                        // The tries left are said once, by the error after a wrong code.
                        {move || format!("Expires in {}", countdown(seconds_left.get()))}
                    </p>
                    <div class="actions">
                        <button type="submit" class="primary" id="approve-button" disabled=busy>"Approve"</button>
                        <button type="button" class="danger" id="deny-button" disabled=busy
                            on:click=move |_| deny_as(false)>
                            "Deny"
                        </button>
                    </div>
                    <button type="button" class="danger wide-button" id="deny-suspicious" disabled=busy
                        on:click=move |_| deny_as(true)>
                        "Deny — this wasn't me"
                    </button>
                    <p class="muted small">
                        "Not you? \"This wasn't me\" refuses every waiting request and lets you sign out your other devices and change your password."
                        {move || (waiting_more() > 0).then(|| format!(" {} more request(s) waiting.", waiting_more()))}
                    </p>
                </form>
            </div>
        </div>
    }
    .into_any()
}
