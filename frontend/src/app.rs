//! The routes: which page each URL shows, and who may see it.

use leptos::prelude::*;
use leptos_router::components::{FlatRoutes, Redirect, Route, Router};
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::path;

use crate::pages::login::LoginPage;
use crate::return_to;
use crate::state::{Session, use_session};
use groups::VisitorPage;

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
    // The dashboard's top that the server wrote into the document gives way as the dashboard
    // draws its own (or says its module could not be fetched); anywhere else (signed out
    // meanwhile, another page) at once.
    let on_dashboard = on_dashboard(session);
    Effect::new(move |_| {
        if !on_dashboard() {
            crate::paint::drop_prepaint();
        }
    });

    view! {
        <OutageBanner/>
        <Masthead/>
        <main class="app">
            <Show when=move || session.checked.get() fallback=crate::lazy::loading>
                // Flat, not nested: no page has an <Outlet/>, and the nested router's code was
                // 11 KB (brotli) of the sign-in page's module (BENCHMARKS.md).
                <FlatRoutes fallback=|| view! { <Redirect path="/"/> }>
                    <Route path=path!("/") view=SignedInOnly/>
                    <Route path=path!("/login") view=|| view! { <SignedOutOnly><LoginPage/></SignedOutOnly> }/>
                    <Route path=path!("/signup") view=|| view! { <SignedOutOnly>{groups::visitor(VisitorPage::Signup)}</SignedOutOnly> }/>
                    <Route path=path!("/approve/:id") view=|| groups::visitor(VisitorPage::Waiting)/>
                    <Route path=path!("/confirm-device/:id") view=|| view! { <SignedOutOnly>{groups::visitor(VisitorPage::ConfirmDevice)}</SignedOutOnly> }/>
                    <Route path=path!("/forgot-password") view=|| view! { <SignedOutOnly>{groups::visitor(VisitorPage::ForgotPassword)}</SignedOutOnly> }/>
                    // Links from mail: they work signed in or not, on any device.
                    <Route path=path!("/reset-password") view=|| groups::visitor(VisitorPage::ResetPassword)/>
                    <Route path=path!("/verify-email") view=|| groups::visitor(VisitorPage::VerifyEmail)/>
                    <Route path=path!("/secure-account") view=|| groups::visitor(VisitorPage::SecureAccount)/>
                    <Route path=path!("/confirm-email-change") view=|| groups::visitor(VisitorPage::ConfirmEmailChange)/>
                </FlatRoutes>
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
            groups::dashboard().into_any()
        } else {
            view! { <Redirect path="/login"/> }.into_any()
        }
    }
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
    let on_dashboard = on_dashboard(session);
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

/// Whether the page shown is the dashboard: its path, signed in.
fn on_dashboard(session: Session) -> impl Fn() -> bool + Copy {
    let pathname = use_location().pathname;
    move || {
        pathname.with(|path| path == shared::routes::DASHBOARD_PAGE)
            && session.current.with(Option::is_some)
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

/// Every page but the sign-in page, in two groups: the dashboard, and the pages a visitor
/// reaches from the sign-in page or from mail. In the production build (`split`, see
/// scripts/build-frontend) each group is a wasm module of its own, fetched when one of its
/// pages is first shown, so that the sign-in page does not wait for their code (two groups,
/// not one module per page: code that several modules share becomes a module of its own,
/// and many small fetches cost a slow network more than one). `trunk serve` builds one module
/// and calls them directly.
mod groups {
    use leptos::prelude::*;

    use crate::lazy::{NotLoaded, Part, page_when_fetched};
    use crate::pages::{confirm_device, dashboard, recovery, signup, waiting};

    /// The visitors' pages (one group). A plain byte: with `split` it crosses an
    /// `extern "C"` call into the group's module.
    #[derive(Clone, Copy)]
    #[repr(u8)]
    pub enum VisitorPage {
        Signup,
        Waiting,
        ConfirmDevice,
        ForgotPassword,
        ResetPassword,
        VerifyEmail,
        SecureAccount,
        ConfirmEmailChange,
    }

    // With `split`, each becomes an async function that fetches its module first.
    #[cfg_attr(
        feature = "split",
        leptos::wasm_split::wasm_split(dashboard, fallible, wasm_split_path = ::leptos::wasm_split)
    )]
    fn dashboard_page() -> Result<Part, NotLoaded> {
        Ok(Box::new(|| dashboard::Dashboard().into_any()))
    }

    #[cfg_attr(
        feature = "split",
        leptos::wasm_split::wasm_split(visitors, fallible, wasm_split_path = ::leptos::wasm_split)
    )]
    fn visitor_page(page: VisitorPage) -> Result<Part, NotLoaded> {
        Ok(Box::new(move || match page {
            VisitorPage::Signup => signup::SignupPage().into_any(),
            VisitorPage::Waiting => waiting::WaitingPage().into_any(),
            VisitorPage::ConfirmDevice => confirm_device::ConfirmDevicePage().into_any(),
            VisitorPage::ForgotPassword => recovery::ForgotPasswordPage().into_any(),
            VisitorPage::ResetPassword => recovery::ResetPasswordPage().into_any(),
            VisitorPage::VerifyEmail => recovery::VerifyEmailPage().into_any(),
            VisitorPage::SecureAccount => recovery::SecureAccountPage().into_any(),
            VisitorPage::ConfirmEmailChange => recovery::ConfirmEmailChangePage().into_any(),
        }))
    }

    pub fn dashboard() -> impl IntoView {
        page_when_fetched(async { fetched!(dashboard_page()) })
    }

    pub fn visitor(page: VisitorPage) -> impl IntoView {
        page_when_fetched(async move { fetched!(visitor_page(page)) })
    }
}
