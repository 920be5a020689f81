//! The browser app: signup, login, second-device approval and the session dashboard.
//!
//! `api` holds every call to the server, `socket` the two sockets, `state` what the pages share,
//! `app` the routes, `lazy` what the split modules draw, `pages/` the screens and `components/`
//! their parts, among them what several share: `loading` (lists fetched from the API),
//! `countdown`, `no_request_here`. `passkey` is `navigator.credentials` (and the JSON it
//! trades with the server). `format` and `validation` are pure helpers with unit tests;
//! `return_to` is where a protected app asked to be sent back to after signing in; `paint`
//! waits for the browser to paint.

/// The result of a call to a `#[wasm_split]` function: with `split` (scripts/build-frontend)
/// the call fetches the function's module first, so it is awaited; `trunk serve` builds one
/// module, where it is a plain call.
#[cfg(feature = "split")]
macro_rules! fetched {
    ($call:expr) => {
        $call.await
    };
}
#[cfg(not(feature = "split"))]
macro_rules! fetched {
    ($call:expr) => {
        $call
    };
}

pub mod api;
pub mod app;
pub mod components;
pub mod format;
pub mod lazy;
pub mod pages;
pub mod paint;
pub mod passkey;
pub mod pending;
pub mod return_to;
pub mod socket;
pub mod state;
pub mod validation;

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(message: &str);
}

/// Starts the app in the page's body.
pub fn mount() {
    // A panic's message and place in the console (a wasm panic says only `unreachable`).
    // console_error_panic_hook would add the JavaScript stack, of no use where the functions
    // have no names, for 0.4 KB of the first page.
    std::panic::set_hook(Box::new(|panic| console_error(&panic.to_string())));
    // The static placeholder of index.html gives way to the app; the dashboard's top that the
    // server wrote in its place stays until the app's own is drawn (`paint::drop_prepaint`).
    if let Some(boot) = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.get_element_by_id(shared::BOOT_ID))
        && boot.get_attribute("class").as_deref() != Some(shared::PREPAINT_CLASS)
    {
        boot.remove();
    }
    leptos::mount::mount_to_body(app::App);
}
