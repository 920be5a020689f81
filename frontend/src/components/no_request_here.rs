//! What a waiting device's page shows when this tab holds no request for its URL.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use crate::state::page_title;

/// What `/approve/:id` and `/confirm-device/:id` show for a request this tab did not make.
#[component]
pub fn NoRequestHere() -> impl IntoView {
    page_title("No sign-in request here");
    view! {
        <section class="card waiting-card" aria-labelledby="waiting-title">
            <h1 id="waiting-title">"No sign-in request here"</h1>
            <p>"This sign-in request was made in another tab, or it is over."</p>
            <a href="/login" id="back-to-login">"Back to sign in"</a>
        </section>
    }
}

/// The request id in the page's URL, if it is one.
pub fn request_id_in_url() -> impl Fn() -> Option<Uuid> + Copy {
    let params = use_params_map();
    move || {
        params
            .with(|params| params.get("id"))
            .and_then(|id| id.parse::<Uuid>().ok())
    }
}
