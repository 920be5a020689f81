//! Showing what a `#[wasm_split]` function draws: with `split` (scripts/build-frontend) its
//! module is fetched first, and may not come (the network, or a newer deployment).

use std::time::Duration;

use leptos::prelude::*;

/// A module could not be fetched.
pub struct NotLoaded;

#[cfg(feature = "split")]
impl From<leptos::wasm_split::SplitLoaderError> for NotLoaded {
    fn from(_: leptos::wasm_split::SplitLoaderError) -> Self {
        NotLoaded
    }
}

/// What a split module hands back: the view's constructor. It is called where the view is
/// drawn, under that view's owner, and only while it is on the page (a page left before its
/// module came never builds it).
pub type Part = Box<dyn FnOnce() -> AnyView>;

/// What a fetch has come to.
enum Fetch {
    Pending,
    /// The constructor, until the view takes it (once).
    Ready(Option<Part>),
    Failed,
}

/// A page: "Loading…" until its module is there; a way out if it cannot be fetched.
/// A signal, not `<Suspense>`: under a Suspense every resource the page reads (its lists)
/// would put the whole page back to "Loading…" each time it reloads.
pub fn page_when_fetched(
    page: impl Future<Output = Result<Part, NotLoaded>> + 'static,
) -> impl IntoView {
    when_fetched(page, loading, not_fetched)
}

/// A part of a page below what is drawn at once: nothing until its module is there, then the
/// part, built and drawn in a browser task of its own (parts whose module came together would
/// otherwise be built in one long task); `failed` if the module cannot be fetched.
pub fn part_when_fetched(
    part: impl Future<Output = Result<Part, NotLoaded>> + 'static,
    failed: fn() -> AnyView,
) -> impl IntoView {
    let part = async move {
        let part = part.await;
        gloo_timers::future::sleep(Duration::ZERO).await;
        part
    };
    when_fetched(part, nothing, failed)
}

fn when_fetched(
    view: impl Future<Output = Result<Part, NotLoaded>> + 'static,
    pending: fn() -> AnyView,
    failed: fn() -> AnyView,
) -> impl IntoView {
    let fetch = RwSignal::new_local(Fetch::Pending);
    leptos::task::spawn_local(async move {
        let fetched = match view.await {
            Ok(view) => Fetch::Ready(Some(view)),
            Err(NotLoaded) => Fetch::Failed,
        };
        // The visitor may have left the page meanwhile (the signal is gone).
        let _ = fetch.try_set(fetched);
    });
    move || {
        fetch.track();
        match &mut *fetch.write_untracked() {
            Fetch::Pending => pending(),
            // As `view! { <Page/> }` does: the view's own reads do not make this run again.
            Fetch::Ready(view) => view.take().map_or_else(nothing, untrack),
            Fetch::Failed => failed(),
        }
    }
}

/// What a page shows while what it needs is on its way (its module, the session's check).
pub fn loading() -> AnyView {
    view! { <p class="loading" role="status">"Loading…"</p> }.into_any()
}

fn nothing() -> AnyView {
    ().into_any()
}

fn not_fetched() -> AnyView {
    // In the place of a dashboard's top that the server painted, if any (`http::prepaint`).
    crate::paint::drop_prepaint();
    view! { <NotFetched/> }.into_any()
}

/// Reloads the page: the way out when a module could not be fetched.
pub fn reload_page() {
    if let Some(window) = web_sys::window() {
        let _ = window.location().reload();
    }
}

#[component]
fn NotFetched() -> impl IntoView {
    let reload = |_| reload_page();
    view! {
        <section class="card" id="page-not-fetched" role="alert">
            <h1>"This page could not be loaded"</h1>
            <p>"Check your connection, or the app may have been updated meanwhile. Reloading fetches it again."</p>
            <button type="button" id="reload-page" on:click=reload>"Reload"</button>
        </section>
    }
}
