//! Where to go once signed in: the `return_to` a protected app put in the sign-in page's
//! URL, kept in this tab's `sessionStorage` across the approval and mailed-code pages, and
//! followed only to an origin the server lists (`return_to_origins`): never an open redirect.
//! The origin is the browser's own reading of the URL, and the browser goes to exactly the
//! URL it read.

const KEY: &str = "return_to";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// Keeps the sign-in page's `return_to`, or forgets an earlier one when it has none (a
/// sign-in started afresh goes to the dashboard).
pub fn remember_from_location() {
    let Some(storage) = storage() else {
        return;
    };
    let search = web_sys::window()
        .and_then(|window| window.location().search().ok())
        .unwrap_or_default();
    let wanted = web_sys::UrlSearchParams::new_with_str(&search)
        .ok()
        .and_then(|params| params.get(shared::routes::RETURN_TO));
    let _ = match wanted {
        Some(url) => storage.set_item(KEY, &url),
        None => storage.remove_item(KEY),
    };
}

/// The remembered URL, forgotten now, if its origin is one of `allowed`.
pub fn take_allowed(allowed: &[String]) -> Option<String> {
    let storage = storage()?;
    let wanted = storage.get_item(KEY).ok().flatten()?;
    let _ = storage.remove_item(KEY);
    let url = web_sys::Url::new(&wanted).ok()?;
    let listed = allowed.iter().any(|origin| *origin == url.origin());
    let plain = url.username().is_empty() && url.password().is_empty();
    (listed && plain).then(|| url.href())
}

/// Leaves the app for `url` (another app: a full page load), without a history entry for
/// the sign-in page.
pub fn leave_for(url: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.location().replace(url);
    }
}
