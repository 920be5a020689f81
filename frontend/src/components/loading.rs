//! Lists fetched from the API: a resource refetched when the data may be stale, shown
//! through one boundary that says "Loading…" first, keeps what it shows while it reloads,
//! and shows an error in place of the list.

use std::future::Future;

use leptos::prelude::*;

use crate::api::ApiResult;
use crate::state::use_session;

/// A call fetched again whenever `refresh` changes. A late answer to an earlier fetch
/// never replaces a newer one (the resource keeps the latest only). A failure goes to the
/// session once: a 401 signs out, an unreachable server raises the retry banner.
pub fn use_api_resource<T, Fut>(
    refresh: RwSignal<u32>,
    fetch: impl Fn() -> Fut + 'static,
) -> LocalResource<ApiResult<T>>
where
    T: 'static,
    Fut: Future<Output = ApiResult<T>> + 'static,
{
    let session = use_session();
    let resource = LocalResource::new(move || {
        refresh.track();
        fetch()
    });
    Effect::new(move |_| {
        resource.with(|result| {
            if let Some(Err(error)) = result {
                session.check(error);
            }
        });
    });
    resource
}

/// `children` read resources (`move || resource.get().map(|result| result.map(…))`): until
/// the first answer they are "Loading…"; while they reload they keep what they show; a
/// child that is an `Err` gives way to its message. (Read synchronously rather than through
/// `Suspend`, which would add its weight to the app for nothing these lists need.)
#[component]
pub fn Loaded(children: Children) -> impl IntoView {
    view! {
        <Transition fallback=|| view! { <p class="muted" role="status">"Loading…"</p> }>
            <ErrorBoundary fallback=|errors| view! {
                <p class="form-error" role="alert">
                    {move || errors.with(|errors| errors.iter().next().map(|(_, error)| error.to_string()))}
                </p>
            }>
                {children()}
            </ErrorBoundary>
        </Transition>
    }
}
