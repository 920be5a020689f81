//! The state every page shares: who is signed in, the server's rules, and whether the
//! server can be reached.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::{
    AuthResponse, BOOT_CONFIG_ID, BOOT_SESSION_ID, ClientConfig, ErrorCode, LimitPolicy,
    MailDelivery, SessionProbe,
};

use crate::api;
use crate::format::{SignedOut, signed_out_reason};
use crate::return_to;

/// Moves the app to a path (the router's `navigate`, kept where `Copy` state can reach it).
type Navigate = StoredValue<Box<dyn Fn(&str)>, LocalStorage>;

/// Shared through context.
#[derive(Clone, Copy)]
pub struct Session {
    pub current: RwSignal<Option<AuthResponse>>,
    /// The first session probe (`/api/auth/session`) has answered (signed in or not).
    pub checked: RwSignal<bool>,
    /// A message for the login page (why the user is there).
    pub notice: RwSignal<Option<String>>,
    pub config: RwSignal<Option<ClientConfig>>,
    /// Set while the server cannot be reached: the retry banner shows it.
    pub outage: RwSignal<Option<String>>,
    /// Bumped when data may be stale (after an outage): lists refetch.
    pub refresh: RwSignal<u32>,
    navigate: Navigate,
}

impl Session {
    /// The state of a freshly loaded app; `navigate` is the router's.
    pub fn new(navigate: impl Fn(&str) + 'static) -> Self {
        Self {
            current: RwSignal::new(None),
            checked: RwSignal::new(false),
            notice: RwSignal::new(None),
            config: RwSignal::new(None),
            outage: RwSignal::new(None),
            refresh: RwSignal::new(0),
            navigate: StoredValue::new_local(Box::new(navigate)),
        }
    }
}

impl Session {
    pub fn go(&self, path: &str) {
        self.navigate.with_value(|navigate| navigate(path));
    }

    /// Signed in: back to the app that sent the browser here (`return_to`, when its origin
    /// is allowed), else the dashboard.
    pub fn signed_in(&self, auth: AuthResponse) {
        self.notice.set(None);
        self.current.set(Some(auth));
        match self.allowed_return_to() {
            Some(url) => return_to::leave_for(&url),
            None => self.go("/"),
        }
    }

    /// The remembered `return_to`, forgotten now, if the server allows its origin.
    pub fn allowed_return_to(&self) -> Option<String> {
        let allowed = self.config.with_untracked(|config| {
            config
                .as_ref()
                .map(|config| config.return_to_origins.clone())
                .unwrap_or_default()
        });
        return_to::take_allowed(&allowed)
    }

    /// Back to the login page, saying why.
    pub fn signed_out(&self, why: impl Into<SignedOut>) {
        self.signed_out_saying(signed_out_reason(why.into()));
    }

    /// Back to the login page with this message.
    pub fn signed_out_saying(&self, notice: String) {
        self.current.set(None);
        self.notice.set(Some(notice));
        self.go("/login");
    }

    /// Handles an error from a call: only a 401 ends the session; an unreachable server
    /// raises the retry banner. Returns the message to show next to what failed.
    pub fn check(&self, error: &api::ApiError) -> String {
        if error.code == ErrorCode::SessionReplaced {
            // The server says which sign-in replaced this one.
            self.signed_out_saying(error.message.clone());
        } else if error.code == ErrorCode::InvalidSession
            && self.current.with_untracked(Option::is_some)
        {
            self.recheck_before_signing_out(error.code);
        } else if error.ends_session() {
            self.signed_out(error.code);
        } else if error.is_outage() {
            self.outage.set(Some(outage_message()));
        }
        error.message.clone()
    }

    /// An `invalid_session` may answer a request sent with the cookie that a password
    /// change just replaced (its events can reach this tab's socket, and the refetches they
    /// cause, before the change's own response sets the new cookie; or another tab changed
    /// it). The server is asked once more, once this tab's change has its answer, with
    /// whatever cookie the browser holds then.
    fn recheck_before_signing_out(self, reason: ErrorCode) {
        let signed_in_as = self
            .current
            .with_untracked(|current| current.as_ref().map(|auth| auth.session.id));
        spawn_local(async move {
            api::cookie_settled().await;
            match api::session_probe().await {
                Ok(probe)
                    if probe.authenticated
                        && probe.session.as_ref().map(|session| session.id) == signed_in_as =>
                {
                    self.refresh.update(|n| *n += 1);
                }
                _ => self.signed_out(reason),
            }
        });
    }

    /// The limit policy.
    pub fn policy(&self) -> Option<LimitPolicy> {
        self.config
            .with(|config| config.as_ref().map(|config| config.limit_policy))
    }

    /// Active sessions a user may have (from the server's configuration).
    pub fn max_sessions(&self) -> Option<u32> {
        self.config
            .with(|config| config.as_ref().map(|config| config.max_sessions))
    }

    /// The app's name (`APP_NAME`), once the server has said it.
    pub fn app_name(&self) -> Option<String> {
        self.config
            .with(|config| config.as_ref().map(|config| config.app_name.clone()))
    }

    /// Whether the server only writes mail to its log (no SMTP server): then nothing is
    /// mailed, and the app must not say it was.
    pub fn mail_is_logged(&self) -> bool {
        self.config.with(|config| {
            config
                .as_ref()
                .is_some_and(|config| config.mail_delivery == MailDelivery::Log)
        })
    }

    /// Asks the server who is signed in (and its rules); on an outage, the banner offers a retry.
    /// The first time, the document the server sent has already answered (`BootState`).
    pub fn check_signed_in(self) {
        if let Some((config, session)) = take_boot_state() {
            self.config.set(Some(config));
            self.settle(session);
            return;
        }
        spawn_local(async move {
            // Both at once: the first page waits for one round trip, not two.
            let known = self.config.get_untracked().is_some();
            let config = async move {
                if known {
                    None
                } else {
                    Some(api::config().await)
                }
            };
            let (config, probe) = futures_util::future::join(config, api::session_probe()).await;
            let outage = match (&config, &probe) {
                (Some(Err(error)), _) if error.is_outage() => true,
                (_, Err(_)) => true,
                _ => false,
            };
            if outage {
                self.outage.set(Some(outage_message()));
                return;
            }
            if let Some(Ok(config)) = config {
                self.config.set(Some(config));
            }
            if let Ok(probe) = probe {
                self.settle(probe);
            }
        });
    }

    /// The server has said who is signed in.
    fn settle(self, probe: SessionProbe) {
        self.outage.set(None);
        self.current.set(
            probe
                .user
                .zip(probe.session)
                .map(|(user, session)| AuthResponse { user, session }),
        );
        self.checked.set(true);
        self.refresh.update(|n| *n += 1);
    }
}

/// The `BootState` the server wrote into this document, taken out of it: only the first check
/// reads it (a later one would find it stale).
fn take_boot_state() -> Option<(ClientConfig, SessionProbe)> {
    let (config, session) = (
        take_data_block(BOOT_CONFIG_ID),
        take_data_block(BOOT_SESSION_ID),
    );
    Some((
        serde_json::from_str(&config?).ok()?,
        serde_json::from_str(&session?).ok()?,
    ))
}

fn take_data_block(id: &str) -> Option<String> {
    let element = document().get_element_by_id(id)?;
    element.remove();
    element.text_content()
}

fn outage_message() -> String {
    "Cannot reach the server right now. Your session is kept; check your connection.".to_owned()
}

pub fn use_session() -> Session {
    expect_context::<Session>()
}

/// Names the page in the browser's title and history: "Sign in · Session Manager".
pub fn page_title(page: &'static str) {
    let session = use_session();
    Effect::new(move |_| {
        let title = match session.app_name() {
            Some(app) => format!("{page} · {app}"),
            None => page.to_owned(),
        };
        document().set_title(&title);
    });
}
