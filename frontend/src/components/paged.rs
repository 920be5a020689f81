//! A log read page by page (keyset cursors), reloaded from the top when `refresh` changes.

use std::future::Future;

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::Page;

use crate::api::ApiResult;
use crate::state::{Session, use_session};

pub struct PagedList<T: Send + Sync + 'static, F> {
    pub items: RwSignal<Vec<T>>,
    pub next: RwSignal<Option<String>>,
    pub loading: RwSignal<bool>,
    pub error: RwSignal<Option<String>>,
    session: Session,
    fetch: F,
}

impl<T: Send + Sync + 'static, F: Copy> Clone for PagedList<T, F> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static, F: Copy> Copy for PagedList<T, F> {}

impl<T, F, Fut> PagedList<T, F>
where
    T: Send + Sync + 'static,
    F: Fn(Option<String>) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = ApiResult<Page<T>>> + 'static,
{
    pub fn new(refresh: RwSignal<u32>, fetch: F) -> Self {
        let list = Self {
            items: RwSignal::new(Vec::new()),
            next: RwSignal::new(None),
            loading: RwSignal::new(false),
            error: RwSignal::new(None),
            // Taken now, in the component: event handlers run outside its context.
            session: use_session(),
            fetch,
        };
        Effect::new(move |_| {
            refresh.track();
            list.load(None);
        });
        list
    }

    /// Loads the first page (`None`: replaces the list) or the one after `cursor` (appends).
    pub fn load(self, cursor: Option<String>) {
        let session = self.session;
        self.loading.set(true);
        spawn_local(async move {
            match (self.fetch)(cursor.clone()).await {
                Ok(page) => {
                    if cursor.is_some() {
                        self.items.update(|list| list.extend(page.items));
                    } else {
                        self.items.set(page.items);
                    }
                    self.next.set(page.next_cursor);
                    self.error.set(None);
                }
                Err(failure) => self.error.set(Some(session.check(&failure))),
            }
            self.loading.set(false);
        });
    }

    /// The error line and the "load older" button under the list.
    pub fn footer(self, label: &'static str) -> impl IntoView {
        view! {
            <p class="form-error" role="alert">{move || self.error.get()}</p>
            {move || self.next.get().map(|cursor| view! {
                <button type="button" class="secondary" disabled=move || self.loading.get()
                    on:click=move |_| self.load(Some(cursor.clone()))>
                    {move || if self.loading.get() { "Loading…" } else { label }}
                </button>
            })}
        }
    }
}
