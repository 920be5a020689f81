//! The root component: which screen is shown, and the session state every page shares.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::{ApprovalRequired, AuthResponse};

use crate::api;
use crate::format::signed_out_reason;
use crate::pages::{
    dashboard::Dashboard, login::LoginPage, signup::SignupPage, waiting::WaitingPage,
};

#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    Loading,
    Login,
    Signup,
    /// This device waits for another one to approve it.
    Waiting(ApprovalRequired),
    Dashboard,
}

/// Shared through context: who is logged in and where the app is.
#[derive(Clone, Copy)]
pub struct Session {
    pub current: RwSignal<Option<AuthResponse>>,
    pub screen: RwSignal<Screen>,
    /// A message for the login page (why the user is there).
    pub notice: RwSignal<Option<String>>,
}

impl Session {
    pub fn signed_in(&self, auth: AuthResponse) {
        self.notice.set(None);
        self.current.set(Some(auth));
        self.screen.set(Screen::Dashboard);
    }

    /// Back to the login page, saying why.
    pub fn signed_out(&self, reason: &str) {
        self.current.set(None);
        self.notice.set(Some(signed_out_reason(reason)));
        self.screen.set(Screen::Login);
    }

    /// Handles an error from a call made while logged in: a dead session leaves at once.
    /// Returns the message to show otherwise.
    pub fn check(&self, error: &api::ApiError) -> String {
        if error.ends_session() {
            self.signed_out(&error.code);
        }
        error.message.clone()
    }
}

pub fn use_session() -> Session {
    expect_context::<Session>()
}

#[component]
pub fn App() -> impl IntoView {
    let session = Session {
        current: RwSignal::new(None),
        screen: RwSignal::new(Screen::Loading),
        notice: RwSignal::new(None),
    };
    provide_context(session);
    spawn_local(async move {
        match api::me().await {
            Ok(auth) => session.signed_in(auth),
            Err(_) => session.screen.set(Screen::Login),
        }
    });

    view! {
        <main class="app">
            {move || match session.screen.get() {
                Screen::Loading => view! { <p class="loading" role="status">"Loading…"</p> }.into_any(),
                Screen::Login => view! { <LoginPage/> }.into_any(),
                Screen::Signup => view! { <SignupPage/> }.into_any(),
                Screen::Waiting(request) => view! { <WaitingPage request=request/> }.into_any(),
                Screen::Dashboard => view! { <Dashboard/> }.into_any(),
            }}
        </main>
    }
}
