//! The browser app: signup, login, second-device approval and the session dashboard.

mod api;
mod app;
mod components;
mod format;
mod pages;
mod socket;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
