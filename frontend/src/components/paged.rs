//! A log read page by page (keyset cursors), newest first.

use std::future::Future;

use leptos::prelude::*;
use shared::Page;

use crate::api::ApiResult;
use crate::components::loading::{Loaded, use_api_resource};
use crate::state::{Session, use_session};

/// The log: its first page is fetched again whenever `refresh` changes; "load older" adds
/// the pages after it. `row` draws an entry, `frame` the entries together (a table, a list).
pub fn paged_log<T, F, Fut>(
    refresh: RwSignal<u32>,
    fetch: F,
    row: fn(T) -> AnyView,
    frame: fn(AnyView) -> AnyView,
    older_label: &'static str,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    F: Fn(Option<String>) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = ApiResult<Page<T>>> + 'static,
{
    // Taken now, in the component: the pages below are drawn later.
    let session = use_session();
    let first = use_api_resource(refresh, move || fetch(None));
    view! {
        <Loaded>
            {move || first.get().map(|result| {
                result.map(|page| continued(page, session, fetch, row, frame, older_label))
            })}
        </Loaded>
    }
}

/// The first page and the older pages loaded after it. They live as long as that first
/// page is shown: a refresh starts again from the top, and an older page that answers
/// after it is dropped with the state it was meant for.
fn continued<T, F, Fut>(
    first: Page<T>,
    session: Session,
    fetch: F,
    row: fn(T) -> AnyView,
    frame: fn(AnyView) -> AnyView,
    older_label: &'static str,
) -> AnyView
where
    T: Clone + Send + Sync + 'static,
    F: Fn(Option<String>) -> Fut + Copy + 'static,
    Fut: Future<Output = ApiResult<Page<T>>> + 'static,
{
    let older = RwSignal::new(Vec::<T>::new());
    let next = RwSignal::new(first.next_cursor);
    // Its value is the message of the last failure, if the last load failed.
    let load_older = Action::new_local(move |cursor: &String| {
        let page = fetch(Some(cursor.clone()));
        async move {
            match page.await {
                Ok(page) => {
                    older.update(|items| items.extend(page.items));
                    next.set(page.next_cursor);
                    Ok(())
                }
                Err(failure) => Err(session.check(&failure)),
            }
        }
    });
    let first_rows = first.items.into_iter().map(row).collect_view();
    let older_rows = move || older.get().into_iter().map(row).collect_view();
    view! {
        {frame(view! { {first_rows} {older_rows} }.into_any())}
        {footer(next, load_older, older_label)}
    }
    .into_any()
}

/// What a failed "load older" said, and the button (while there are older entries).
/// Not generic: one copy serves every log.
fn footer(
    next: RwSignal<Option<String>>,
    load_older: Action<String, Result<(), String>>,
    older_label: &'static str,
) -> impl IntoView {
    let loading = move || load_older.pending().get();
    view! {
        <p class="form-error" role="alert">
            {move || load_older.value().get().and_then(Result::err)}
        </p>
        {move || next.get().map(|cursor| view! {
            <button type="button" class="secondary" disabled=loading
                on:click=move |_| { load_older.dispatch(cursor.clone()); }>
                {move || if loading() { "Loading…" } else { older_label }}
            </button>
        })}
    }
}
