//! The logged-in device: sessions, logs, profile, and live approval prompts.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::EndReason;
use shared::ws::ServerMessage;

use crate::api;
use crate::components::active_sessions::ActiveSessions;
use crate::components::activity_log::ActivityLog;
use crate::components::approval_prompt::{ApprovalPrompt, Prompt};
use crate::components::later::Later;
use crate::components::passkeys::Passkeys;
use crate::components::profile::Profile;
use crate::components::reauth::{Reauth, ReauthDialog};
use crate::components::secure_account::SecureAccount;
use crate::components::security::Security;
use crate::components::security_alerts::SecurityAlerts;
use crate::components::session_log::SessionLog;
use crate::components::verify_banner::VerifyBanner;
use crate::format::{approval_outcome, local_time};
use crate::lazy::{NotLoaded, Part, part_when_fetched, reload_page};
use crate::socket::keep_session_socket;
use crate::state::{page_title, use_session};

/// The session socket's state, in the bar.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Link {
    /// Before the first connection (the socket opens after the page's first paint).
    Connecting,
    Live,
    /// After a drop: connecting again, with backoff.
    Reconnecting,
}

impl Link {
    fn label(self) -> &'static str {
        match self {
            Link::Connecting => "○ Connecting…",
            Link::Live => "● Live",
            Link::Reconnecting => "○ Reconnecting…",
        }
    }
}

#[component]
pub fn Dashboard() -> impl IntoView {
    let session = use_session();
    page_title("Your sessions");
    // Bumped whenever lists may be stale: they refetch.
    let refresh = session.refresh;
    let prompts = RwSignal::new(Vec::<Prompt>::new());
    let toast = RwSignal::new(None::<String>);
    let alerts = RwSignal::new(Vec::<shared::SecurityAlert>::new());
    let secure = RwSignal::new(false);
    let link = RwSignal::new(Link::Connecting);
    let bump = move || refresh.update(|n| *n += 1);
    Reauth::provide();
    let totp_enabled = Signal::derive(move || {
        session
            .current
            .get()
            .is_some_and(|auth| auth.user.totp_enabled)
    });
    provide_context(LowerShares { refresh, toast });
    // The top the server painted (`http::prepaint`) gives way to this one.
    spawn_local(crate::paint::drop_prepaint_after_next_paint());

    keep_session_socket(
        move |first| {
            link.set(Link::Live);
            if !first {
                // Events may have been missed while disconnected.
                bump();
                prompts.set(Vec::new());
            }
        },
        move |message| match message {
            ServerMessage::ApprovalRequested { approval } => prompts.update(|list| {
                if !list.iter().any(|prompt| prompt.approval.id == approval.id) {
                    list.push(Prompt {
                        approval,
                        error: None,
                    });
                }
            }),
            ServerMessage::ApprovalResolved {
                approval_id,
                outcome,
            } => {
                prompts.update(|list| list.retain(|prompt| prompt.approval.id != approval_id));
                let limit = session.max_sessions().unwrap_or_default();
                toast.set(Some(approval_outcome(outcome, limit)));
                bump();
            }
            ServerMessage::ApprovalCodeRejected {
                approval_id,
                tries_left,
            } => prompts.update(|list| {
                for prompt in list
                    .iter_mut()
                    .filter(|prompt| prompt.approval.id == approval_id)
                {
                    prompt.approval.tries_left = tries_left;
                    prompt.error = Some(format!(
                        "Wrong code, {}",
                        shared::rules::tries_left(tries_left)
                    ));
                }
            }),
            ServerMessage::SessionsChanged => bump(),
            ServerMessage::SessionRevoked {
                reason: EndReason::Replaced,
                replaced_by: Some(by),
            } => session.signed_out_saying(format!(
                "You were signed out because your account signed in on {} at {}.",
                by.device,
                local_time(by.at)
            )),
            ServerMessage::SessionRevoked { reason, .. } => session.signed_out(reason),
            ServerMessage::SecurityAlert { alert } => {
                alerts.update(|list| list.insert(0, alert));
                bump();
            }
            ServerMessage::Error { error, .. } => toast.set(Some(error)),
            // Something a newer server says that this page does not know.
            ServerMessage::Unknown => {}
        },
        move || {
            link.set(Link::Reconnecting);
            // A socket that drops may mean the session is gone: ask.
            spawn_local(async move {
                if let Err(error) = api::me().await {
                    session.check(&error);
                }
            });
        },
    );

    // Toasts go away by themselves after a while.
    Effect::new(move |_| {
        if let Some(message) = toast.get() {
            set_timeout(
                move || {
                    if toast.get_untracked().as_deref() == Some(message.as_str()) {
                        toast.set(None);
                    }
                },
                std::time::Duration::from_secs(6),
            );
        }
    });

    let logout = Action::new_local(|_: &()| api::logout());
    Effect::new(move |_| match logout.value().get() {
        Some(Ok(())) => session.signed_out(EndReason::Logout),
        Some(Err(error)) => toast.set(Some(session.check(&error))),
        None => {}
    });
    let name = move || {
        session
            .current
            .get()
            .map(|auth| auth.user.name)
            .unwrap_or_default()
    };
    let email = move || {
        session
            .current
            .get()
            .map(|auth| auth.user.email)
            .unwrap_or_default()
    };

    view! {
        <div class="dashboard" id="dashboard">
            <header class="topbar">
                <span class="brand" id="app-name">{move || session.app_name()}</span>
                <span class=move || if link.get() == Link::Live { "live on" } else { "live off" } role="status">
                    {move || link.get().label()}
                </span>
                <span class="who">
                    <strong id="user-name">{name}</strong>
                    <span class="muted">{email}</span>
                </span>
                <button type="button" class="secondary" id="logout" on:click=move |_| { logout.dispatch(()); }
                    disabled=move || logout.pending().get()>
                    "Sign out"
                </button>
            </header>
            {move || toast.get().map(|message| view! {
                <div class="toast" role="status">
                    <span>{message}</span>
                    <button type="button" class="link" aria-label="Dismiss" on:click=move |_| toast.set(None)>"×"</button>
                </div>
            })}
            <VerifyBanner/>
            <SecurityAlerts alerts=alerts secure=secure toast=toast/>
            // The bar and the banners are painted first; the cards come after it, each in a
            // task of its own, the sessions first, the rest from a module of their own (see
            // `Lower`). The sessions' card (its list, its request) drawn with the bar made
            // that first task half as long again, and its request counted in Lighthouse's
            // simulated LCP (2.58 s against 2.98 s without it; BENCHMARKS.md).
            <div class="grid">
                <Later><ActiveSessions refresh=refresh toast=toast/></Later>
                <LowerPart part=Lower::Profile/>
                <LowerPart part=Lower::SessionLog/>
                <LowerPart part=Lower::ActivityLog/>
            </div>
            // Drawn after the cards above (its heading too): drawn before them, it would
            // move down as they came (a layout shift).
            <LowerPart part=Lower::Security/>
            <ApprovalPrompt prompts=prompts secure=secure/>
            // In this module: the top's own buttons open them ("This wasn't me", a revocation
            // that asks for the password again).
            <Later>
                <SecureAccount open=secure toast=toast/>
                <ReauthDialog totp_enabled=totp_enabled/>
            </Later>
        </div>
    }
}

/// The dashboard's parts below its first screen. With `split` they are a module of their own,
/// fetched once the top of the dashboard is painted: the top (the LCP element) then waits only
/// for the dashboard's own module and its chunks, 107 KiB with brotli instead of 148
/// (BENCHMARKS.md). A plain byte: it crosses an `extern "C"` call into that module.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Lower {
    Profile,
    SessionLog,
    ActivityLog,
    Security,
}

/// What the lower parts share with the dashboard: through context, since only plain values
/// cross into their module.
#[derive(Clone, Copy)]
struct LowerShares {
    refresh: RwSignal<u32>,
    toast: RwSignal<Option<String>>,
}

/// A lower part, drawn after the dashboard's top is painted (see `Later`). The first says so
/// when their module cannot be fetched (the others draw nothing then).
#[component]
fn LowerPart(part: Lower) -> impl IntoView {
    let failed = if part == Lower::Profile {
        parts_not_fetched
    } else {
        || ().into_any()
    };
    view! { <Later>{part_when_fetched(async move { fetched!(lower_part(part)) }, failed)}</Later> }
}

fn parts_not_fetched() -> AnyView {
    let reload = |_| reload_page();
    view! {
        <section class="card" id="parts-not-fetched" role="alert">
            <p>"Part of this page could not be loaded: your profile, the logs and the security settings."</p>
            <button type="button" class="secondary" on:click=reload>"Reload"</button>
        </section>
    }
    .into_any()
}

#[cfg_attr(
    feature = "split",
    leptos::wasm_split::wasm_split(dashboard_lower, fallible, wasm_split_path = ::leptos::wasm_split)
)]
fn lower_part(part: Lower) -> Result<Part, NotLoaded> {
    Ok(Box::new(move || {
        let LowerShares { refresh, toast } = expect_context::<LowerShares>();
        match part {
            Lower::Profile => view! { <Profile toast=toast/> }.into_any(),
            Lower::SessionLog => view! { <SessionLog refresh=refresh/> }.into_any(),
            Lower::ActivityLog => view! { <ActivityLog refresh=refresh/> }.into_any(),
            Lower::Security => view! {
                <section class="security" id="security" aria-labelledby="security-title">
                    <h2 id="security-title">"Security"</h2>
                    <div class="grid">
                        <Security refresh=refresh toast=toast/>
                        <Later><Passkeys toast=toast/></Later>
                    </div>
                </section>
            }
            .into_any(),
        }
    }))
}
