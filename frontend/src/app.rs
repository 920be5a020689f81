//! The routes: which page each URL shows, and who may see it.

use leptos::prelude::*;
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::path;

use crate::pages::{
    confirm_device::ConfirmDevicePage,
    dashboard::Dashboard,
    login::LoginPage,
    recovery::{
        ConfirmEmailChangePage, ForgotPasswordPage, ResetPasswordPage, SecureAccountPage,
        VerifyEmailPage,
    },
    signup::SignupPage,
    waiting::WaitingPage,
};
use crate::return_to;
use crate::state::{Session, use_session};

#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <Shell/>
        </Router>
    }
}

#[component]
fn Shell() -> impl IntoView {
    let navigate = use_navigate();
    let session = Session::new(move |path| navigate(path, Default::default()));
    provide_context(session);
    session.check_signed_in();

    view! {
        <OutageBanner/>
        <Masthead/>
        <main class="app">
            <Show when=move || session.checked.get()
                fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
                <Routes fallback=|| view! { <Redirect path="/"/> }>
                    <Route path=path!("/") view=SignedInOnly/>
                    <Route path=path!("/login") view=|| view! { <SignedOutOnly><LoginPage/></SignedOutOnly> }/>
                    <Route path=path!("/signup") view=|| view! { <SignedOutOnly><SignupPage/></SignedOutOnly> }/>
                    <Route path=path!("/approve/:id") view=WaitingPage/>
                    <Route path=path!("/confirm-device/:id") view=|| view! { <SignedOutOnly><ConfirmDevicePage/></SignedOutOnly> }/>
                    <Route path=path!("/forgot-password") view=|| view! { <SignedOutOnly><ForgotPasswordPage/></SignedOutOnly> }/>
                    // Links from mail: they work signed in or not, on any device.
                    <Route path=path!("/reset-password") view=ResetPasswordPage/>
                    <Route path=path!("/verify-email") view=VerifyEmailPage/>
                    <Route path=path!("/secure-account") view=SecureAccountPage/>
                    <Route path=path!("/confirm-email-change") view=ConfirmEmailChangePage/>
                </Routes>
            </Show>
        </main>
    }
}

/// The dashboard, or the login page for a visitor who is not signed in.
#[component]
fn SignedInOnly() -> impl IntoView {
    let session = use_session();
    let signed_in = Memo::new(move |_| session.current.with(Option::is_some));
    move || {
        if signed_in.get() {
            view! {
                <Suspense fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
                    {Suspend::new(dashboard())}
                </Suspense>
            }
            .into_any()
        } else {
            view! { <Redirect path="/login"/> }.into_any()
        }
    }
}

/// The dashboard and everything only it uses. In the production build (`split`, see
/// scripts/build-frontend) this is a module of its own, fetched when first shown, so that the
/// sign-in page does not wait for it; `trunk serve` builds one module and calls it directly.
#[cfg_attr(feature = "split", leptos::lazy)]
async fn dashboard() -> AnyView {
    view! { <Dashboard/> }.into_any()
}

/// A page for visitors (login, signup): someone signed in goes to the dashboard, or back to
/// the app that sent them to sign in (`return_to`, when allowed).
#[component]
fn SignedOutOnly(children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    let signed_in = Memo::new(move |_| session.current.with(Option::is_some));
    move || {
        if signed_in.get() {
            return_to::remember_from_location();
            if let Some(url) = session.allowed_return_to() {
                return_to::leave_for(&url);
            }
            view! { <Redirect path="/"/> }.into_any()
        } else {
            children().into_any()
        }
    }
}

/// The app's name above every page but the dashboard (whose own bar names it). Its room is
/// kept while the name is unknown, so that nothing moves when it comes.
#[component]
fn Masthead() -> impl IntoView {
    let session = use_session();
    let pathname = use_location().pathname;
    let on_dashboard =
        move || pathname.with(|path| path == "/") && session.current.with(Option::is_some);
    move || {
        (!on_dashboard()).then(|| {
            view! {
                <header class="masthead">
                    <span class="brand" id="app-name">{move || session.app_name()}</span>
                </header>
            }
        })
    }
}

/// Shown while the server cannot be reached, with a retry.
#[component]
fn OutageBanner() -> impl IntoView {
    let session = use_session();
    move || {
        session.outage.get().map(|message| {
            view! {
                <div class="banner" role="alert" id="outage-banner">
                    <span>{message}</span>
                    <button type="button" class="secondary" id="retry"
                        on:click=move |_| session.check_signed_in()>
                        "Retry"
                    </button>
                </div>
            }
        })
    }
}
