//! Showing what a `#[wasm_split]` function draws: with `split` (scripts/build-frontend) its
//! module is fetched first, and may not come (the network, or a newer deployment).

use std::time::Duration;

use leptos::prelude::*;
use leptos::reactive::computed::ScopedFuture;

/// A module could not be fetched.
pub struct NotLoaded;

#[cfg(feature = "split")]
impl From<leptos::wasm_split::SplitLoaderError> for NotLoaded {
    fn from(_: leptos::wasm_split::SplitLoaderError) -> Self {
        NotLoaded
    }
}

/// What a fetch has come to.
enum Fetch {
    Pending,
    /// The view, until the view function takes it (once).
    Ready(Option<AnyView>),
    Failed,
}

/// A page: "Loading…" until its module is there; a way out if it cannot be fetched.
/// A signal, not `<Suspense>`: under a Suspense every resource the page reads (its lists)
/// would put the whole page back to "Loading…" each time it reloads.
pub fn page_when_fetched(
    page: impl Future<Output = Result<AnyView, NotLoaded>> + 'static,
) -> impl IntoView {
    when_fetched(page, || {
        view! { <p class="loading" role="status">"Loading…"</p> }.into_any()
    })
}

/// What a split module hands back for a part of a page: the part's constructor, called once
/// the module is there, in a task of its own.
pub type Part = Box<dyn FnOnce() -> AnyView>;

/// A part of a page below what is drawn at once: nothing until its module is there, then the
/// part, built and drawn in a browser task of its own (parts whose module came together would
/// otherwise be built in one long task).
pub fn part_when_fetched(
    part: impl Future<Output = Result<Part, NotLoaded>> + 'static,
) -> impl IntoView {
    let part = async move {
        let part = part.await?;
        gloo_timers::future::sleep(Duration::ZERO).await;
        Ok(untrack(part))
    };
    when_fetched(part, || ().into_any())
}

fn when_fetched(
    view: impl Future<Output = Result<AnyView, NotLoaded>> + 'static,
    pending: fn() -> AnyView,
) -> impl IntoView {
    let fetch = RwSignal::new_local(Fetch::Pending);
    // Polled under this view's owner: the view is built there, and finds its contexts.
    leptos::task::spawn_local(ScopedFuture::new_untracked(async move {
        let fetched = match view.await {
            Ok(view) => Fetch::Ready(Some(view)),
            Err(NotLoaded) => Fetch::Failed,
        };
        // The visitor may have left the page meanwhile (the signal is gone).
        let _ = fetch.try_set(fetched);
    }));
    move || {
        fetch.track();
        match &mut *fetch.write_untracked() {
            Fetch::Pending => pending(),
            Fetch::Ready(view) => view.take().unwrap_or_else(|| ().into_any()),
            Fetch::Failed => view! { <NotFetched/> }.into_any(),
        }
    }
}

#[component]
fn NotFetched() -> impl IntoView {
    let reload = |_| {
        if let Some(window) = web_sys::window() {
            let _ = window.location().reload();
        }
    };
    view! {
        <section class="card" id="page-not-fetched" role="alert">
            <h1>"This page could not be loaded"</h1>
            <p>"Check your connection, or the app may have been updated meanwhile. Reloading fetches it again."</p>
            <button type="button" id="reload-page" on:click=reload>"Reload"</button>
        </section>
    }
}
